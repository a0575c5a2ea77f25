// Figures from results/NAME/sae/<mode>/ (sae/results-schema.ts): stream attribution of
// concat-SAE features (histogram of top shares, concentration per stream), per-stream SAE
// quality over layer × stream, the planted-label matches and feature cards.
import { format } from 'd3-format';
import type { FeatureDashboards, SaeSummary } from '../sae/results-schema.ts';
import { escapeXml } from './escape.ts';
import { featureCardsHtml } from './feature-cards.ts';
import { type Figure, figureId } from './figure.ts';
import { heatmap } from './figures/heatmap.ts';
import { histogram } from './figures/histogram.ts';
import { stackedBars } from './figures/stacked-bars.ts';
import { type Section, tableHtml } from './html-page.ts';
import { categorical } from './palette.ts';
import { seedFigures } from './sae-seed-figures.ts';

const f3 = format('.3f');
const opt = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : f3(v));

/** Top stream share of each concat feature in the dashboards, grouped by that stream. */
export function attributionHistogram(d: FeatureDashboards, nStreams: number): Figure | undefined {
  const feats = d.features.filter((f) => f.stream_shares && f.top_stream !== undefined);
  if (feats.length === 0) return undefined;
  const values = Array.from({ length: nStreams }, (_, s) => feats.filter((f) => f.top_stream === s).map((f) => Math.max(...(f.stream_shares as number[]))));
  const id = figureId('sae-attribution', d.mode, 'layer', d.layer);
  return {
    id,
    svg: histogram({ id, title: `Stream attribution of SAE features (concat, L${d.layer})`, xLabel: 'share of the top stream ‖W_dec[f, block i]‖² / ‖W_dec[f]‖²', yLabel: 'features', values, groupLabel: (g) => `stream ${g}`, domain: [1 / nStreams, 1], bins: 15, refLines: [{ x: 0.5, label: 'concentrated' }], width: 520 }),
    caption: `For each of the ${feats.length} features in the dashboards (planted-label matches first, then the densest), the share of its decoder norm in its top stream, coloured by that stream. 1/n = ${f3(1 / nStreams)}: spread evenly; 1: the feature lives in one stream.`,
  };
}

/** Concentrated features per stream, and the unconcentrated rest, per concat SAE. */
export function concentrationBars(s: SaeSummary): Figure | undefined {
  const saes = s.saes.filter((x) => x.attribution);
  if (saes.length === 0) return undefined;
  const n = s.n_streams;
  const id = figureId('sae-concentration', s.mode);
  const shares = saes.map((x) => {
    const a = x.attribution as NonNullable<typeof x.attribution>;
    const live = Math.max(1, a.live);
    return [...a.by_stream.map((c) => c / live), Math.max(0, 1 - a.concentrated / live)];
  });
  return {
    id,
    svg: stackedBars({ id, title: 'Concentration of live concat-SAE features', xLabel: 'layer', yLabel: 'share of live features', categories: saes.map((x) => `L${x.layer}`), shares, partLabel: (k) => (k < n ? `stream ${k}` : 'spread (no stream > 0.5)'), colorOf: (k) => (k < n ? categorical(k) : '#bbbbbb'), width: Math.max(380, 140 + saes.length * 60) }),
    caption: `Fraction of live features whose top stream holds more than ${f3(saes[0]?.attribution?.threshold ?? 0.5)} of the decoder norm, by that stream; grey: features spread over several streams. Over all live features of each SAE.`,
  };
}

/** Per-stream SAEs: a quality metric over layer × stream. */
export function perStreamHeatmap(s: SaeSummary, metric: 'fvu' | 'ce_recovered'): Figure | undefined {
  if (s.mode !== 'per-stream' || s.saes.length === 0) return undefined;
  const layers = [...new Set(s.saes.map((x) => x.layer))].sort((a, b) => a - b);
  const value = (x: SaeSummary['saes'][number]) => (metric === 'fvu' ? x.eval.fvu : (x.eval.ce?.recovered ?? null));
  const values = layers.map((l) => Array.from({ length: s.n_streams }, (_, i) => value(s.saes.find((x) => x.layer === l && x.stream === i) ?? ({ eval: { fvu: null, ce: null } } as unknown as SaeSummary['saes'][number]))));
  if (values.flat().every((v) => v === null)) return undefined;
  const id = figureId('sae-per-stream', metric);
  return {
    id,
    svg: heatmap({ id, title: metric === 'fvu' ? 'Per-stream SAEs: unexplained variance' : 'Per-stream SAEs: CE loss recovered', xLabel: 'stream', yLabel: 'layer', rows: layers.map((l) => `L${l}`), cols: Array.from({ length: s.n_streams }, (_, i) => `stream ${i}`), values, scheme: 'viridis', ...(metric === 'fvu' ? {} : { domain: [0, 1] as [number, number] }), valueLabel: metric === 'fvu' ? 'FVU' : 'CE recovered', annotate: true, width: 460 }),
    caption: metric === 'fvu' ? 'Fraction of variance unexplained by each per-stream SAE on held-out tokens (lower is better).' : 'CE loss recovered when each per-stream SAE\'s reconstruction is spliced in for its stream: (CE_zero − CE_sae)/(CE_zero − CE_orig).',
  };
}

/** Planted labels: the best latent's |corr| per label value and layer, with the stream it lives in. */
export function plantedMatches(s: SaeSummary): Figure | undefined {
  if (s.planted.length === 0 || s.planted.every((p) => p.matches.length === 0)) return undefined;
  const keys = [...new Set(s.planted.flatMap((p) => p.matches.map((m) => `${m.label}=${m.value}`)))];
  const layers = s.planted.map((p) => p.layer);
  const find = (k: string, l: number) => s.planted.find((p) => p.layer === l)?.matches.find((m) => `${m.label}=${m.value}` === k);
  const id = figureId('sae-planted', s.mode);
  return {
    id,
    svg: heatmap({
      id, title: `Planted labels: best matching latent (${s.mode})`, xLabel: 'layer', yLabel: 'label = value', rows: keys, cols: layers.map((l) => `L${l}`),
      values: keys.map((k) => layers.map((l) => (find(k, l) ? Math.abs(find(k, l)?.corr ?? 0) : null))),
      annotations: keys.map((k) => layers.map((l) => {
        const m = find(k, l);
        return m && m.stream !== null ? `s${m.stream}` : null;
      })),
      scheme: 'viridis', domain: [0, 1], valueLabel: '|corr| of the best latent', width: 520,
    }),
    caption: 'For each planted label value, the |correlation| of the best matching SAE latent at each layer; "sN" names the stream that latent lives in (per-stream: its SAE\'s stream; concat: its top stream).',
  };
}

function saeTable(s: SaeSummary): string {
  return tableHtml(
    ['SAE', 'd_sae', 'L0', 'explained variance', 'dead', 'CE recovered', 'Δ loss', 'concentrated / live'],
    s.saes.map((x) => [x.path, x.d_sae, opt(x.eval.l0), opt(x.eval.ev), opt(x.dead_fraction), opt(x.eval.ce?.recovered), opt(x.eval.ce?.delta), x.attribution ? `${x.attribution.concentrated} / ${x.attribution.live}` : '—']),
  );
}

export function saeSection(summaries: readonly SaeSummary[], dashboards: readonly FeatureDashboards[]): Section {
  const cardsPer = (d: FeatureDashboards) => (d.mode === 'per-stream' ? 3 : 8);
  const figures: Figure[] = [];
  const n = summaries[0]?.n_streams ?? 1;
  for (const d of dashboards) if (d.mode === 'concat') {
    const h = attributionHistogram(d, n);
    if (h) figures.push(h);
  }
  for (const s of summaries) for (const f of [concentrationBars(s), perStreamHeatmap(s, 'fvu'), perStreamHeatmap(s, 'ce_recovered'), plantedMatches(s)]) if (f) figures.push(f);
  const seeds = seedFigures(summaries);
  figures.push(...seeds.figures);
  const tables = summaries.map((s) => `<h3>${escapeXml(`${s.mode} SAEs (${s.kind}${s.k !== null ? `, k ${s.k}` : ''}, ×${s.expansion}, ${s.site})`)}</h3>${saeTable(s)}`).join('') + seeds.html;
  const cards = featureCardsHtml(dashboards, cardsPer);
  return {
    id: 'sae',
    title: 'Sparse autoencoders',
    introHtml: escapeXml(`SAEs on ${summaries.map((s) => s.mode).join(', ')} inputs of ${summaries[0]?.acts ?? '?'}: per stream, on the concatenated streams (with stream attribution) and on their sum (the single-stream baseline).`),
    figures,
    html: `${tables}${cards ? `<h3>Feature cards</h3><p class="intro">${escapeXml('Top activating contexts of each latent (the activating token highlighted), its activation histogram and its best-correlated planted labels.')}</p>${cards}` : ''}`,
  };
}
