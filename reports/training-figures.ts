// Figures drawn from a run's metrics.jsonl alone: loss curves, identity distance over
// training (module × step, with the seeding stage marked), dominance over training,
// read/write and signal shares, N_eff per layer and the unfolded connection matrix.
import type { Figure } from './figure.ts';
import { heatmap } from './figures/heatmap.ts';
import { type LineSeries, lineChart } from './figures/line-chart.ts';
import { stackedBars } from './figures/stacked-bars.ts';
import { categorical } from './palette.ts';
import { finalDiagnostics, type MetricsRecord, moduleLabel, type RunData } from './run-data.ts';
import { emptyNote } from './svg.ts';
import { type UnfoldedTable, unfoldedFromDiagnostics } from './unfolded-connection.ts';

export type { Figure };

/** Train loss solid, validation loss dashed; one colour per run. */
export function lossCurves(runs: readonly RunData[], id = 'loss'): Figure {
  const series: LineSeries[] = [];
  runs.forEach((r, i) => {
    const color = categorical(i);
    const prefix = runs.length > 1 ? `${r.name}: ` : '';
    series.push({ name: `${prefix}train`, color, points: r.metrics.map((m) => [m.step, m.loss]) });
    const val = r.metrics.filter((m) => typeof m.val_loss === 'number').map((m): [number, number] => [m.step, m.val_loss as number]);
    if (val.length) series.push({ name: `${prefix}validation`, color, dash: '6 4', points: val, markers: val.length < 30 });
  });
  const svg = series.some((s) => s.points.length > 0)
    ? lineChart({ id, title: 'Loss', xLabel: 'training step', yLabel: 'cross-entropy (nats/token)', series, width: 620 })
    : emptyNote({ id, title: 'Loss', width: 620, height: 80 }, 'no metrics logged');
  return { id, svg, caption: 'Training loss (mean since the previous log line, solid) and validation loss (dashed).' };
}

/**
 * End of the seeding stage: the first logged step from which every module's identity
 * distance stays within 15% of its final value (or 0.002, whichever is larger). Returns the
 * index into `metrics`, or undefined when the mixing never settles before the last step.
 */
export function seedingStageEnd(metrics: readonly MetricsRecord[], tolerance = 0.15): number | undefined {
  const recs = metrics.filter((m) => m.hc && m.hc.modules.length > 0);
  const nModules = recs[0]?.hc?.modules.length ?? 0;
  if (recs.length < 3 || nModules === 0) return undefined;
  let end = 0;
  for (let k = 0; k < nModules; k++) {
    const d = recs.map((r) => r.hc?.modules[k]?.identity_distance ?? Number.NaN);
    const final = d[d.length - 1] as number;
    const tol = Math.max(tolerance * Math.abs(final), 0.002);
    let i = d.length - 1;
    while (i > 0 && Math.abs((d[i - 1] as number) - final) <= tol) i--;
    end = Math.max(end, i);
  }
  return end >= recs.length - 1 ? undefined : end;
}

export function identityDistanceHeatmap(run: RunData, id = 'identity-distance'): Figure {
  const recs = run.metrics.filter((m) => m.hc && m.hc.modules.length > 0);
  const first = recs[0]?.hc;
  const caption = "Identity distance ‖A_r − I‖_F/√n of each module's token-averaged mixing matrix over training (0: the mixing is the identity, streams do not exchange signal). The dashed line marks the end of the seeding stage: from there on every module's identity distance stays within 15% of its final value.";
  if (!first) return { id, svg: emptyNote({ id, title: 'Identity distance of the mixing over training', width: 620, height: 80 }, 'no mixing matrices: a plain residual model'), caption };
  const seed = seedingStageEnd(recs);
  const svg = heatmap({
    id, title: 'Identity distance of the mixing over training', xLabel: 'training step', yLabel: 'module',
    rows: first.modules.map(moduleLabel), cols: recs.map((r) => String(r.step)),
    values: first.modules.map((_, k) => recs.map((r) => r.hc?.modules[k]?.identity_distance ?? null)),
    scheme: 'viridis', valueLabel: '‖A_r − I‖_F / √n', width: 720,
    ...(seed !== undefined ? { colMarkers: [{ col: seed, label: `seeding ends ≈ step ${recs[seed]?.step}` }] } : {}),
  });
  return { id, svg, caption };
}

export function dominanceOverTraining(run: RunData, id = 'dominance-over-training'): Figure {
  const recs = run.metrics.filter((m) => m.hc && m.hc.layers.length > 0);
  const nLayers = recs[0]?.hc?.layers.length ?? 0;
  const n = run.config.model.nStreams;
  const series: LineSeries[] = Array.from({ length: nLayers }, (_, l) => ({ name: `layer ${l}`, points: recs.map((r): [number, number] => [r.step, r.hc?.layers[l]?.dominance ?? Number.NaN]) }));
  const caption = `Share of the signal E‖H_i‖² held by the largest stream at each layer's output. 1/n = ${(1 / n).toFixed(2)} is an even split; 1 means one stream carries everything.`;
  const svg = recs.length
    ? lineChart({ id, title: 'Dominant-stream share over training', xLabel: 'training step', yLabel: 'dominance max_i s_i', series, yDomain: [0, 1], refLines: [{ y: 1 / n, label: 'even split 1/n' }], width: 620 })
    : emptyNote({ id, title: 'Dominant-stream share over training', width: 620, height: 80 }, 'no stream diagnostics logged');
  return { id, svg, caption };
}

export function signalShares(run: RunData, id = 'signal-shares'): Figure {
  const hc = finalDiagnostics(run.metrics);
  const caption = 'Signal share s_i = E‖H_i‖² / Σ_j E‖H_j‖² of each stream at each layer\'s output, at the last logged step. Equal bands: the streams share the signal; one band filling the bar: collapse onto one stream.';
  if (!hc) return { id, svg: emptyNote({ id, title: 'Signal share per layer', width: 420, height: 80 }, 'no stream diagnostics logged'), caption };
  const svg = stackedBars({
    id, title: 'Signal share per layer', xLabel: 'layer (output)', yLabel: 'share of E‖H‖²',
    categories: hc.layers.map((l) => `L${l.layer}`), shares: hc.layers.map((l) => l.signal_shares), partLabel: (k) => `stream ${k}`,
  });
  return { id, svg, caption };
}

export function readWriteShares(run: RunData, which: 'read' | 'write', id = `${which}-shares`): Figure {
  const hc = finalDiagnostics(run.metrics);
  const title = which === 'read' ? 'Read shares per module (A_m)' : 'Write shares per module (B)';
  const caption = which === 'read'
    ? 'Share of each stream in what a module reads, |A_m[i]| / Σ|A_m|, token-averaged, at the last logged step.'
    : 'Share of each stream in where a module writes its output, |B[i]| / Σ|B|, token-averaged, at the last logged step.';
  if (!hc || hc.modules.length === 0) return { id, svg: emptyNote({ id, title, width: 420, height: 80 }, 'no read/write weights: a plain residual model'), caption };
  const svg = stackedBars({
    id, title, xLabel: 'module', yLabel: `${which} share`,
    categories: hc.modules.map(moduleLabel), shares: hc.modules.map((m) => (which === 'read' ? m.read_shares : m.write_shares)), partLabel: (k) => `stream ${k}`,
  });
  return { id, svg, caption };
}

export function nEffPerLayer(run: RunData, id = 'n-eff'): Figure {
  const recs = run.metrics.filter((m) => m.hc && m.hc.layers.length > 0);
  const n = run.config.model.nStreams;
  const first = recs[0];
  const last = recs[recs.length - 1];
  const caption = `Effective number of streams N_eff = exp(−Σ s_i log s_i) of the signal shares at each layer's output: n = ${n} when the streams share evenly, 1 when one stream holds everything.`;
  if (!first || !last) return { id, svg: emptyNote({ id, title: 'Effective number of streams per layer', width: 480, height: 80 }, 'no stream diagnostics logged'), caption };
  const pts = (r: MetricsRecord) => (r.hc?.layers ?? []).map((l): [number, number] => [l.layer, l.n_eff]);
  const series: LineSeries[] = [{ name: `step ${last.step}`, points: pts(last), markers: true, color: categorical(0) }];
  if (first !== last) series.push({ name: `step ${first.step}`, points: pts(first), markers: true, dash: '5 4', color: categorical(1) });
  const svg = lineChart({ id, title: 'Effective number of streams per layer', xLabel: 'layer (output)', yLabel: 'N_eff', series, yDomain: [1, Math.max(n, 1.5)], refLines: [{ y: n, label: `n = ${n}` }], integerX: true, width: 480, height: 300 });
  return { id, svg, caption };
}

/** Heatmap of an unfolded connection table (shared by the training and diagnostics sections). */
export function unfoldedHeatmap(u: UnfoldedTable, id: string, title: string): string {
  return heatmap({
    id, title, xLabel: 'written by (sublayer output j)', yLabel: 'read by (module k)',
    rows: u.readers, cols: u.writers, values: u.c, scheme: 'diverging', center: 0, valueLabel: 'c_kj', annotate: true, rotateColLabels: true,
  });
}

export function unfoldedConnectionFigure(run: RunData, id = 'unfolded-connection'): Figure {
  const hc = finalDiagnostics(run.metrics);
  const caption = 'Unfolded connection matrix (HC paper, Eqs. 27–29) from the token-averaged coefficients at the last logged step: c_kj = B^j (Π A_r^t) A_m^k, the weight with which the output of sublayer j (columns; "embed" is the embedding) reaches the input of module k (rows). For a plain residual every entry is 1.';
  if (!hc || hc.modules.length === 0) return { id, svg: emptyNote({ id, title: 'Unfolded connection matrix', width: 420, height: 80 }, 'plain residual: every entry is 1'), caption };
  const table = unfoldedFromDiagnostics(hc);
  if (!table) return { id, svg: emptyNote({ id, title: 'Unfolded connection matrix', width: 420, height: 80 }, 'not in this run\'s metrics (older hcprobe): see diagnose'), caption };
  return { id, svg: unfoldedHeatmap(table, id, 'Unfolded connection matrix'), caption };
}

/** Every training figure of one run, in reading order. */
export function trainingFigures(run: RunData): Figure[] {
  // One stream: dominance and N_eff are 1 by definition, and there is no mixing to draw.
  if (run.config.model.nStreams <= 1) return [lossCurves([run])];
  return [lossCurves([run]), dominanceOverTraining(run), signalShares(run), nEffPerLayer(run), identityDistanceHeatmap(run), readWriteShares(run, 'read'), readWriteShares(run, 'write'), unfoldedConnectionFigure(run)];
}
