// Linear probes on one feature matrix (docs/metrics.md): standardise with training statistics, fit
// every target at every L2 strength in one batch, choose λ per target by validation CE, and
// score the chosen probe on the test rows against the majority-class rate.
import { fitLogisticBatch, type LogisticFit, type LogisticOptions, type LogisticProblem, predictLogistic } from './logistic-batch.ts';
import type { SequenceSplit } from './sequence-split.ts';

export interface ProbeTarget {
  name: string;
  nClasses: number;
  /** Class per row, −1 = no label. */
  y: Int32Array;
}

export interface PartFeatures {
  /** [rows, dim], standardised. */
  x: Float32Array;
  /** Row index in the original matrix. */
  rows: Int32Array;
}

export interface PreparedFeatures {
  dim: number;
  train: PartFeatures;
  val: PartFeatures;
  test: PartFeatures;
}

export type ProbeOutcome =
  | { ok: true; accuracy: number; chance: number; l2: number; nTrain: number; nVal: number; nTest: number; valLoss: number; iterations: number }
  | { ok: false; reason: string };

/** Fewest labelled training rows for a probe to be fitted. */
const MIN_TRAIN_ROWS = 20;

/**
 * Splits the rows of x [rows, dim] into the parts of `split`, keeping rows where `keep` holds,
 * and z-scores every feature with the training rows' mean and standard deviation.
 */
export function prepareFeatures(x: Float32Array, dim: number, split: SequenceSplit, keep: (row: number) => boolean = () => true): PreparedFeatures {
  const rows = x.length / dim;
  const idx: number[][] = [[], [], []];
  for (let r = 0; r < rows; r++) if (keep(r)) (idx[split.part[r] as number] as number[]).push(r);
  const mean = new Float64Array(dim);
  const sq = new Float64Array(dim);
  const train = idx[0] as number[];
  for (const r of train) {
    for (let j = 0; j < dim; j++) {
      const v = x[r * dim + j] as number;
      mean[j] = (mean[j] as number) + v;
      sq[j] = (sq[j] as number) + v * v;
    }
  }
  const n = Math.max(train.length, 1);
  const scale = new Float64Array(dim);
  for (let j = 0; j < dim; j++) {
    const m = (mean[j] as number) / n;
    mean[j] = m;
    const sd = Math.sqrt(Math.max((sq[j] as number) / n - m * m, 0));
    scale[j] = sd > 1e-8 * Math.max(Math.abs(m), 1) ? 1 / sd : 1; // constant features stay centred zeros
  }
  const gather = (list: number[]): PartFeatures => {
    const out = new Float32Array(list.length * dim);
    list.forEach((r, i) => {
      for (let j = 0; j < dim; j++) out[i * dim + j] = ((x[r * dim + j] as number) - (mean[j] as number)) * (scale[j] as number);
    });
    return { x: out, rows: Int32Array.from(list) };
  };
  return { dim, train: gather(train), val: gather(idx[1] as number[]), test: gather(idx[2] as number[]) };
}

const labelsAt = (y: Int32Array, rows: Int32Array) => Int32Array.from(rows, (r) => y[r] as number);

/**
 * Probes every target along the λ grid from the strongest penalty down, each fit warm-started
 * from the previous one (a regularisation path); a target leaves the path once a weaker penalty
 * no longer lowers its validation CE. One outcome per target.
 */
export function probeFeatures(f: PreparedFeatures, targets: ProbeTarget[], l2Grid: readonly number[], opts: Partial<LogisticOptions> = {}): ProbeOutcome[] {
  const grid = [...l2Grid].sort((a, b) => b - a);
  const count = (y: Int32Array) => y.reduce((a, v) => a + (v >= 0 ? 1 : 0), 0);
  const parts = targets.map((t) => ({ train: labelsAt(t.y, f.train.rows), val: labelsAt(t.y, f.val.rows), test: labelsAt(t.y, f.test.rows) }));
  const outcomes: ProbeOutcome[] = targets.map((_, ti) => {
    const y = parts[ti] as (typeof parts)[number];
    const nTrain = count(y.train);
    if (nTrain < MIN_TRAIN_ROWS) return { ok: false, reason: `${nTrain} labelled training rows (need ${MIN_TRAIN_ROWS})` };
    if (count(y.test) === 0) return { ok: false, reason: 'no labelled test rows' };
    if (new Set(y.train.filter((v) => v >= 0)).size < 2) return { ok: false, reason: 'one class only in the training rows' };
    return { ok: false, reason: 'not fitted' };
  });
  const best = new Map<number, { fit: LogisticFit; l2: number; iterations: number }>();
  let alive = targets.map((_, ti) => ti).filter((ti) => (outcomes[ti] as { reason?: string }).reason === 'not fitted');
  for (const l2 of grid) {
    if (alive.length === 0) break;
    const problems: LogisticProblem[] = alive.map((ti) => {
      const prev = best.get(ti);
      const y = parts[ti] as (typeof parts)[number];
      const p: LogisticProblem = { nClasses: (targets[ti] as ProbeTarget).nClasses, yTrain: y.train, yVal: y.val, l2 };
      if (prev) p.init = Float64Array.from([...prev.fit.weights, ...prev.fit.bias]);
      return p;
    });
    const fits = fitLogisticBatch(f.train.x, f.val.x, f.dim, problems, opts);
    alive = alive.filter((ti, i) => {
      const fit = fits[i] as LogisticFit;
      const prev = best.get(ti);
      const iterations = (prev?.iterations ?? 0) + fit.iterations;
      if (!prev || fit.valLoss < prev.fit.valLoss - 1e-9) {
        best.set(ti, { fit, l2, iterations });
        return true;
      }
      prev.iterations = iterations;
      return false;
    });
  }
  for (const [ti, { fit, l2, iterations }] of best) {
    const t = targets[ti] as ProbeTarget;
    const y = parts[ti] as (typeof parts)[number];
    const counts = new Array<number>(t.nClasses).fill(0);
    for (const v of y.train) if (v >= 0) counts[v] = (counts[v] as number) + 1;
    const majority = counts.indexOf(Math.max(...counts));
    const pred = predictLogistic(fit, f.test.x, f.dim);
    let n = 0;
    let correct = 0;
    let chance = 0;
    y.test.forEach((v, r) => {
      if (v < 0) return;
      n++;
      if (pred[r] === v) correct++;
      if (v === majority) chance++;
    });
    outcomes[ti] = { ok: true, accuracy: correct / n, chance: chance / n, l2, nTrain: count(y.train), nVal: count(y.val), nTest: n, valLoss: fit.valLoss, iterations };
  }
  return outcomes;
}
