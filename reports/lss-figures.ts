// The learned stream scaling (LSS) over training, from the `lss` field of metrics.jsonl: each
// stream's scale norm ‖λ_i‖ and their spread across streams, with the seeding stage's end marked.
import type { Figure } from './figure.ts';
import { type LineSeries, lineChart } from './figures/line-chart.ts';
import type { MetricsRecord, RunData } from './run-data.ts';
import { seedingStageEnd } from './training-figures.ts';

/** The training step at which the seeding stage ends (seedingStageEnd), or undefined. */
export function seedingEndStep(metrics: readonly MetricsRecord[]): number | undefined {
  const recs = metrics.filter((m) => m.hc && m.hc.modules.length > 0);
  const i = seedingStageEnd(recs);
  return i === undefined ? undefined : recs[i]?.step;
}

/** The vertical line that marks the end of the seeding stage, when there is one. */
export function seedingRefLine(step: number | undefined): { x: number; label: string }[] {
  return step === undefined ? [] : [{ x: step, label: `seeding ends ≈ step ${step}` }];
}

/** Two line charts (norms per stream, spread) for a run that logged `lss`; none otherwise. */
export function lssFigures(run: RunData): Figure[] {
  const recs = run.metrics.filter((m) => m.lss && m.lss.norms.length > 0);
  const first = recs[0]?.lss;
  if (!first) return [];
  const seed = seedingRefLine(seedingEndStep(run.metrics));
  const norms: LineSeries[] = first.norms.map((_, i) => ({ name: `stream ${i}`, points: recs.map((r): [number, number] => [r.step, r.lss?.norms[i] ?? Number.NaN]) }));
  const spread: LineSeries[] = [{ name: 'spread σ/μ of the norms', points: recs.map((r): [number, number] => [r.step, r.lss?.spread ?? Number.NaN]), markers: recs.length < 30 }];
  return [
    {
      id: 'lss-norms',
      svg: lineChart({ id: 'lss-norms', title: 'LSS scale per stream over training', xLabel: 'training step', yLabel: '‖λ_i‖₂', series: norms, xRefLines: seed, width: 620 }),
      caption: 'Norm of each stream\'s learned scale λ_i (row i of expand_stream.lss, which multiplies the embedding to make stream i). Lines that part: the streams are scaled differently, so they start distinct; lines that stay together: LSS does not break the symmetry between streams.',
    },
    {
      id: 'lss-spread',
      svg: lineChart({ id: 'lss-spread', title: 'Spread of the LSS scales across streams', xLabel: 'training step', yLabel: 'σ(‖λ‖) / μ(‖λ‖)', series: spread, xRefLines: seed, width: 620 }),
      caption: 'Coefficient of variation of the per-stream scale norms (population σ over the n streams divided by their mean): 0 when every stream is scaled alike. The dashed vertical line marks the end of the seeding stage.',
    },
  ];
}
