// The SAE evidence of `hcprobe sae --seeds` and the quality metrics (docs/metrics.md): stream
// attribution of concat-SAE latents across seeds (dots per seed, whiskers min–max), whether the
// majority stream is stable, and a table of KL, shrinkage and near-duplicate latents per SAE.
import { format } from 'd3-format';
import type { SaeSummary, SeedStability } from '../sae/results-schema.ts';
import { escapeXml } from './escape.ts';
import { type Figure, figureId } from './figure.ts';
import { intervalPlot } from './figures/interval-plot.ts';
import { tableHtml } from './html-page.ts';

const f3 = format('.3f');
const pct = format('.1%');
const opt = (v: number | null | undefined, f = f3) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : f(v));

/** Per layer: each stream's share of live latents (top stream) across seeds; dots per seed, bar min–max. */
export function seedAttributionFigure(s: SaeSummary, st: SeedStability): Figure {
  const id = figureId('sae-seed-attribution', s.mode, 'layer', st.layer);
  const rows = st.top_stream.map((x, i) => ({ label: `stream ${i}`, mean: x.mean, lo: x.min, hi: x.max, values: st.per_seed.map((p) => p.top_stream[i] as number) }));
  return {
    id,
    svg: intervalPlot({ id, title: `Stream attribution across ${st.seeds.length} SAE seeds (concat, L${st.layer})`, xLabel: 'share of live latents whose largest decoder share is in the stream', rows }),
    caption: `For each seed (${st.seeds.join(', ')}) a hollow dot: the fraction of the concat SAE's live latents whose decoder norm is largest in that stream; filled dot the mean, bar the min–max over seeds (std ${st.top_stream.map((x) => f3(x.std)).join(', ')}). ${stabilityText(st)}`,
  };
}

/** The verdict in words: is "features live in stream i" the same for every seed? */
export function stabilityText(st: SeedStability): string {
  const majorities = st.per_seed.map((p) => `seed ${p.seed}: stream ${p.majority}`).join(', ');
  const top = st.majority === null ? null : st.top_stream[st.majority];
  const n = st.top_stream.length;
  // A latent's top share near 1/n means it is spread over the streams: its "top stream" is a small difference.
  const spreadNote = st.mean_top_share.mean < 0.5 ? ` The latents are spread over the streams, though (mean top share ${f3(st.mean_top_share.mean)}, 1/n = ${f3(1 / n)}), so the majority rests on small differences in decoder norm.` : '';
  return st.stable
    ? `Stable: every seed puts most live latents in stream ${st.majority} (${pct(top?.min ?? Number.NaN)}–${pct(top?.max ?? Number.NaN)} of them; mean top share ${f3(st.mean_top_share.mean)} ± ${f3(st.mean_top_share.std)}).${spreadNote}`
    : `Not stable: the majority stream changes with the seed (${majorities}), so "features live in one stream" is not a property of the model at this SAE size.${spreadNote}`;
}

/** KL, shrinkage and near-duplicate share per SAE (first seed's SAEs; per-seed rows when there are several). */
export function evidenceTable(s: SaeSummary): string {
  const rows = s.saes.map((x) => [x.path, opt(x.eval.ce?.kl ?? null, format('.4f')), opt(x.eval.shrinkage), opt(x.eval.decoder?.mean_max_cos), opt(x.eval.decoder?.near_duplicate, pct)]);
  return tableHtml(['SAE', 'KL(clean ‖ spliced), nats/token', 'shrinkage ‖x̂‖/‖x‖', 'mean max decoder cos', 'near-duplicate latents (cos > 0.9)'], rows);
}

export function seedFigures(summaries: readonly SaeSummary[]): { figures: Figure[]; html: string } {
  const figures: Figure[] = [];
  let html = '';
  for (const s of summaries) {
    const evidence = s.saes.some((x) => x.eval.shrinkage !== undefined || x.eval.ce?.kl !== undefined);
    if (evidence) html += `<h3>${escapeXml(`${s.mode} SAEs: KL, shrinkage and near-duplicate latents`)}</h3>${evidenceTable(s)}`;
    for (const st of s.seed_stability ?? []) {
      figures.push(seedAttributionFigure(s, st));
      html += `<p class="intro">${escapeXml(`Layer ${st.layer}, seeds ${st.seeds.join(', ')}: ${stabilityText(st)}`)}</p>`;
      html += tableHtml(['seed', 'live latents', ...st.top_stream.map((_, i) => `stream ${i}`), 'mean top share', 'EV'], st.per_seed.map((p) => [p.seed, p.live, ...p.top_stream.map((v) => pct(v)), f3(p.mean_top_share), opt(p.ev)]));
    }
  }
  return { figures, html };
}
