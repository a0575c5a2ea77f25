// The report's "Over training" section: the per-checkpoint timeline (reports/timeline.ts) drawn
// against the training step — dominance, identity distance, probe accuracy and SAE attribution
// by stream — with the end of the seeding stage (from metrics.jsonl) as a dashed vertical line.
import { format } from 'd3-format';
import { escapeXml } from './escape.ts';
import type { Figure } from './figure.ts';
import { type LineSeries, lineChart } from './figures/line-chart.ts';
import { type Section, tableHtml } from './html-page.ts';
import { seedingEndStep, seedingRefLine } from './lss-figures.ts';
import { categorical } from './palette.ts';
import type { RunData } from './run-data.ts';
import { emptyNote } from './svg.ts';
import type { Timeline, TimelineRow } from './timeline.ts';

const f3 = format('.3f');
const W = 620;
const pts = (rows: readonly TimelineRow[], f: (r: TimelineRow) => number | null | undefined): [number, number][] => rows.map((r) => [r.step, f(r) ?? Number.NaN]);
const has = (s: LineSeries) => s.points.some(([, y]) => Number.isFinite(y));

function chart(id: string, title: string, yLabel: string, series: LineSeries[], seedStep: number | undefined, extra: { yDomain?: [number, number]; refLines?: { y: number; label: string }[] } = {}): string {
  const drawn = series.filter(has);
  if (drawn.length === 0) return emptyNote({ id, title, width: W, height: 80 }, 'not in the per-checkpoint results');
  return lineChart({ id, title, xLabel: 'training step (checkpoint)', yLabel, series: drawn, xRefLines: seedingRefLine(seedStep), width: W, ...extra });
}

export function timelineDominance(t: Timeline, seedStep: number | undefined, id = 'timeline-dominance'): Figure {
  const series: LineSeries[] = [{ name: 'dominance (label: dominant stream)', points: pts(t.rows, (r) => r.dominance), markers: true, pointLabels: t.rows.map((r) => (r.dominant === null ? '' : `s${r.dominant}`)), color: categorical(0) }];
  const svg = chart(id, 'Last-layer dominance at each checkpoint', 'dominance max_i s_i', series, seedStep, { yDomain: [0, 1], refLines: [{ y: 1 / t.nStreams, label: 'even split 1/n' }] });
  return { id, svg, caption: `Share of the signal E‖H_i‖² held by the largest stream at resid_post of the last layer (the block's output), from each checkpoint's capture; each point is labelled with its dominant stream (s0 … s${t.nStreams - 1}). A label that changes is a change of dominant stream.` };
}

export function timelineIdentity(t: Timeline, seedStep: number | undefined, id = 'timeline-identity'): Figure {
  const modules = t.rows.find((r) => r.identity_by_module.length > 0)?.identity_by_module.map((m) => m.module) ?? [];
  const series: LineSeries[] = [
    { name: 'mean over modules', points: pts(t.rows, (r) => r.identity_distance), markers: true, color: '#000' },
    ...modules.map((m, k): LineSeries => ({ name: m, points: pts(t.rows, (r) => r.identity_by_module.find((x) => x.module === m)?.value), dash: '5 3', color: categorical(k) })),
  ];
  const svg = chart(id, 'Identity distance of the mixing at each checkpoint', '‖Ā_r − I‖_F / √n', series, seedStep);
  return { id, svg, caption: 'Identity distance of each module\'s token-averaged residual mixing Ā_r (dashed) and their mean (black), from each checkpoint\'s captured coefficients. 0: the streams do not exchange signal.' };
}

export function timelineProbe(t: Timeline, label: string, k: number, seedStep: number | undefined, id = `timeline-probe-${k}`): Figure {
  const at = t.rows.flatMap((r) => r.probes.filter((p) => p.label === label));
  const first = at[0];
  const series: LineSeries[] = [
    ...Array.from({ length: t.nStreams }, (_, i): LineSeries => ({ name: `stream ${i}`, points: pts(t.rows, (r) => r.probes.find((p) => p.label === label)?.accuracy[i]), markers: true, color: categorical(i) })),
    { name: 'sum of streams', points: pts(t.rows, (r) => r.probes.find((p) => p.label === label)?.sum), dash: '6 4', color: '#555' },
  ];
  const chance = at.length ? at.reduce((a, p) => a + p.chance, 0) / at.length : undefined;
  const title = `Probe accuracy by stream: ${label}`;
  const svg = chart(id, title, 'test accuracy', series, seedStep, { yDomain: [0, 1], ...(chance === undefined ? {} : { refLines: [{ y: chance, label: 'chance (majority class)' }] }) });
  const where = first ? `${first.site} of layer ${first.layer} (${first.module})` : 'the last probed layer';
  return { id, svg, caption: `Test accuracy of a linear probe for "${label}" on each stream alone and on the summed streams, at ${where}, per checkpoint. A stream whose line falls toward chance has stopped carrying the label.` };
}

export function timelineSae(t: Timeline, seedStep: number | undefined, id = 'timeline-sae'): Figure {
  const threshold = t.rows.find((r) => r.sae)?.sae?.threshold ?? 0.5;
  const series: LineSeries[] = [
    ...Array.from({ length: t.nStreams }, (_, i): LineSeries => ({ name: `stream ${i}`, points: pts(t.rows, (r) => r.sae?.by_stream[i]), markers: true, color: categorical(i) })),
    { name: `no stream > ${threshold}`, points: pts(t.rows, (r) => (r.sae ? 1 - r.sae.concentrated : null)), dash: '6 4', color: '#888' },
  ];
  const svg = chart(id, 'SAE features by stream at each checkpoint', 'share of live latents', series, seedStep, { yDomain: [0, 1] });
  return { id, svg, caption: `Of the live latents of an SAE trained on the concatenated streams (last layer) at each checkpoint, the share whose decoder puts more than ${threshold} of its norm² in stream i; dashed: latents spread over streams with none above ${threshold}. The lines sum to 1.` };
}

export function timelineSaeShares(t: Timeline, seedStep: number | undefined, id = 'timeline-sae-shares'): Figure {
  const series = Array.from({ length: t.nStreams }, (_, i): LineSeries => ({ name: `stream ${i}`, points: pts(t.rows, (r) => r.sae?.mean_shares[i]), markers: true, color: categorical(i) }));
  const svg = chart(id, 'Mean SAE decoder share by stream at each checkpoint', 'mean share ‖W_dec[f, i]‖² / ‖W_dec[f]‖²', series, seedStep, { refLines: [{ y: 1 / t.nStreams, label: 'even 1/n' }] });
  return { id, svg, caption: 'Each stream\'s share of the decoder norm² of the concat SAE\'s latents, averaged over live latents (last layer), per checkpoint: a continuous view of the attribution that moves even while no latent is concentrated in one stream.' };
}

function rowsTable(t: Timeline): string {
  const opt = (v: number | null | undefined) => (v === null || v === undefined ? '—' : f3(v));
  return tableHtml(
    ['step', 'dominance', 'dominant stream', 'N_eff', 'mean identity distance', ...t.labels.map((l) => `best stream for ${l}`), 'SAE: most latents in'],
    t.rows.map((r) => {
      const best = t.labels.map((l) => {
        const acc = r.probes.find((p) => p.label === l)?.accuracy ?? [];
        const i = acc.reduce<number>((b, a, k) => (a !== null && (acc[b] === null || (a as number) > (acc[b] as number)) ? k : b), 0);
        return acc[i] === null || acc[i] === undefined ? '—' : `s${i} (${f3(acc[i] as number)})`;
      });
      const sae = r.sae ? r.sae.by_stream.reduce((b, v, k, a) => (v > (a[b] as number) ? k : b), 0) : undefined;
      const saeCell = r.sae === null || sae === undefined ? '—' : (r.sae.by_stream[sae] as number) > 0 ? `s${sae}` : `none above ${r.sae.threshold}`;
      return [r.step, opt(r.dominance), r.dominant ?? '—', opt(r.n_eff), opt(r.identity_distance), ...best, saeCell];
    }),
  );
}

/** The "Over training" section, or undefined when no checkpoint has results. */
export function overTrainingSection(t: Timeline, run: RunData): Section | undefined {
  if (t.rows.length === 0) return undefined;
  const seed = seedingEndStep(run.metrics);
  const figures = [timelineDominance(t, seed), timelineIdentity(t, seed), ...t.labels.map((l, k) => timelineProbe(t, l, k, seed)), ...(t.rows.some((r) => r.sae) ? [timelineSae(t, seed), timelineSaeShares(t, seed)] : [])];
  const intro = `The analyses repeated at each of ${t.rows.length} checkpoints (steps ${t.rows.map((r) => r.step).join(', ')}: hcprobe capture/diagnose/probe/sae --checkpoints all). ${seed === undefined ? 'The seeding stage has no end in this run\'s metrics (the mixing had not settled by the last log step).' : `The dashed vertical line marks the end of the seeding stage at step ${seed}, from the training metrics.`}`;
  return { id: 'over-training', title: 'Over training', introHtml: escapeXml(intro), figures, html: rowsTable(t) };
}
