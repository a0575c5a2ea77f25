// Many L2-regularised logistic regressions on one feature matrix at once (docs/metrics.md): a sigmoid
// for two classes, a softmax for more. Each problem runs its own L-BFGS (float64, in JS); their
// evaluations share one pair of tfjs-wasm products X·W and Xᵀ·R per round, with the softmax
// in JS between them (bench/probes/solver-choice.ts: the products dominate, and batching
// removes the per-problem overhead that makes small problems slow).
// Objective of a problem: mean CE over its rows + λ/2‖W‖² (bias unpenalised); rows labelled −1
// are excluded. Early stopping keeps the iterate with the lowest validation CE.
import { tf, type Tensor } from '../src/engine/tf.ts';
import { Lbfgs, type LbfgsOptions, type LbfgsStatus } from '../src/stats/lbfgs.ts';

export interface LogisticProblem {
  nClasses: number;
  /** Class per training row, −1 = excluded. */
  yTrain: Int32Array;
  yVal: Int32Array;
  l2: number;
  /** Starting point [W (outputs × dim), b (outputs)] (a warm start); zeros when absent. */
  init?: Float64Array;
}

export interface LogisticOptions {
  lbfgs: Partial<LbfgsOptions>;
  /** Accepted iterations without a new best validation CE before a problem stops. */
  patience: number;
}

export const LOGISTIC_DEFAULTS: LogisticOptions = {
  // scikit-learn's gradient tolerance (on the same mean-CE scale); early stopping ends most fits sooner.
  lbfgs: { maxIterations: 300, gradTol: 1e-4, relTol: 1e-8 },
  patience: 10, // validation CE is noisy at the 1e-4 level; 10 iterations rides that out
};

export interface LogisticFit {
  nClasses: number;
  /** 1 for two classes (the logit of class 1), else nClasses. */
  outputs: number;
  /** [outputs, dim] row-major; `bias` [outputs]. */
  weights: Float64Array;
  bias: Float64Array;
  valLoss: number;
  trainLoss: number;
  iterations: number;
  status: LbfgsStatus;
}

interface State {
  p: LogisticProblem;
  outputs: number;
  opt: Lbfgs;
  nTrain: number;
  nVal: number;
  best: { valLoss: number; x: Float64Array; trainLoss: number };
  sinceBest: number;
}

/** Fits every problem on the shared features xTrain [nTrain, dim] and xVal [nVal, dim]. */
export function fitLogisticBatch(xTrain: Float32Array, xVal: Float32Array, dim: number, problems: LogisticProblem[], opts: Partial<LogisticOptions> = {}): LogisticFit[] {
  const o = { ...LOGISTIC_DEFAULTS, ...opts };
  const nTrain = xTrain.length / dim;
  const nVal = xVal.length / dim;
  const states: State[] = problems.map((p) => {
    if (p.nClasses < 2) throw new Error(`a logistic problem needs at least 2 classes, got ${p.nClasses}`);
    const outputs = p.nClasses === 2 ? 1 : p.nClasses;
    const count = (y: Int32Array) => y.reduce((a, v) => a + (v >= 0 ? 1 : 0), 0);
    const x0 = p.init ? Float64Array.from(p.init) : new Float64Array(outputs * (dim + 1));
    if (x0.length !== outputs * (dim + 1)) throw new Error(`init has ${x0.length} values, expected ${outputs * (dim + 1)}`);
    return { p, outputs, opt: new Lbfgs(x0, o.lbfgs), nTrain: count(p.yTrain), nVal: count(p.yVal), best: { valLoss: Number.POSITIVE_INFINITY, x: x0, trainLoss: Number.NaN }, sinceBest: 0 };
  });
  // A column of ones appended to X carries the biases: X·W adds them, Xᵀ·R sums their gradient.
  const X = augmented(xTrain, nTrain, dim);
  const XT = tf.tidy(() => tf.transpose(X)); // wasm runs transposed products slowly; materialise once
  const XV = augmented(xVal, nVal, dim);
  try {
    let layout: Layout | undefined;
    for (;;) {
      const active = states.filter((s) => !s.opt.done && s.nTrain > 0);
      if (active.length === 0) break;
      // Finished problems ride along (their tell() is a no-op) until repacking pays off.
      if (!layout || active.length < 0.6 * layout.states.length) layout = buildLayout(active);
      round(layout, { X, XT, XV }, nTrain, nVal, dim, o.patience);
    }
  } finally {
    for (const t of [X, XT, XV]) t.dispose();
  }
  return states.map((s) => {
    const x = s.best.x;
    const w = s.outputs * dim;
    return {
      nClasses: s.p.nClasses, outputs: s.outputs, weights: x.slice(0, w), bias: x.slice(w), valLoss: s.best.valLoss,
      trainLoss: s.best.trainLoss, iterations: s.opt.iterations, status: s.opt.status,
    };
  });
}

function augmented(x: Float32Array, rows: number, dim: number): Tensor {
  const out = new Float32Array(rows * (dim + 1));
  for (let r = 0; r < rows; r++) {
    out.set(x.subarray(r * dim, (r + 1) * dim), r * (dim + 1));
    out[r * (dim + 1) + dim] = 1;
  }
  return tf.tensor2d(out, [rows, dim + 1]);
}

interface Layout {
  states: State[];
  /** First column of each state's block in Z = X·W. */
  cols: number[];
  width: number;
}

function buildLayout(states: State[]): Layout {
  let width = 0;
  const cols = states.map((s) => {
    const c = width;
    width += s.outputs;
    return c;
  });
  return { states, cols, width };
}

interface Shared {
  X: Tensor;
  XT: Tensor;
  XV: Tensor;
}

/**
 * Adds each problem's mean CE over the rows of Z [rows, C] to `loss` and, when R is given,
 * writes its weighted residual (P − Y)/count into R. In JS: with integer labels this is one
 * pass over Z, where tfjs needs one-hot targets, a slice and a reshape per group and several
 * kernels; measured 2× slower per round for 14 nine-class problems (tfjs softmax, then JS).
 */
function ceTerms(l: Layout, Z: Float32Array, rows: number, labels: (s: State) => Int32Array, count: (s: State) => number, loss: Float64Array, R?: Float32Array): void {
  const C = l.width;
  // Problem by problem, rows inside: each loop sees one label array and one class count.
  l.states.forEach((s, i) => {
    const y = labels(s);
    const w = 1 / Math.max(count(s), 1);
    const col = l.cols[i] as number;
    const K = s.outputs;
    let total = 0;
    if (K === 1) {
      for (let r = 0; r < rows; r++) {
        const v = y[r] as number;
        if (v < 0) continue;
        const c = r * C + col;
        const z = Z[c] as number;
        // CE of a sigmoid, softplus(z) − v·z, and its gradient σ(z) − v, from one exp.
        const e = Math.exp(-Math.abs(z));
        total += Math.max(z, 0) + Math.log1p(e) - v * z;
        if (R) R[c] = w * ((z >= 0 ? 1 : e) / (1 + e) - v);
      }
    } else {
      for (let r = 0; r < rows; r++) {
        const v = y[r] as number;
        if (v < 0) continue;
        const c0 = r * C + col;
        let m = Z[c0] as number;
        for (let k = 1; k < K; k++) m = Math.max(m, Z[c0 + k] as number);
        let sum = 0;
        if (R) {
          for (let k = 0; k < K; k++) sum += R[c0 + k] = Math.exp((Z[c0 + k] as number) - m);
          const ws = w / sum;
          for (let k = 0; k < K; k++) R[c0 + k] = ws * (R[c0 + k] as number);
          R[c0 + v] = (R[c0 + v] as number) - w;
        } else for (let k = 0; k < K; k++) sum += Math.exp((Z[c0 + k] as number) - m);
        total += m + Math.log(sum) - (Z[c0 + v] as number);
      }
    }
    loss[i] = w * total;
  });
}

function round(l: Layout, t: Shared, nTrain: number, nVal: number, dim: number, patience: number): void {
  const C = l.width;
  const P = l.states.length;
  const W = new Float32Array((dim + 1) * C);
  l.states.forEach((s, i) => {
    const x = s.opt.ask();
    for (let k = 0; k < s.outputs; k++) {
      const c = (l.cols[i] as number) + k;
      for (let j = 0; j < dim; j++) W[j * C + c] = x[k * dim + j] as number;
      W[dim * C + c] = x[s.outputs * dim + k] as number;
    }
  });
  // Data is read outside tidy(): tidy walks a typed array returned from it element by element.
  const Wt = tf.tensor2d(W, [dim + 1, C]);
  const Zt = tf.matMul(t.X, Wt); // [N, C]
  const ZVt = tf.matMul(t.XV, Wt); // [Nv, C]
  const Z = Zt.dataSync() as Float32Array;
  const ZV = ZVt.dataSync() as Float32Array;
  for (const x of [Wt, Zt, ZVt]) x.dispose();
  const loss = new Float64Array(P);
  const valLoss = new Float64Array(P);
  const R = new Float32Array(nTrain * C);
  ceTerms(l, Z, nTrain, (s) => s.p.yTrain, (s) => s.nTrain, loss, R);
  ceTerms(l, ZV, nVal, (s) => s.p.yVal, (s) => s.nVal, valLoss);
  const gradT = tf.tidy(() => tf.matMul(t.XT, tf.tensor2d(R, [nTrain, C]))); // [dim + 1, C]: weights, then biases
  const G = gradT.dataSync() as Float32Array;
  gradT.dispose();
  l.states.forEach((s, i) => {
    const x = s.opt.ask();
    const nw = s.outputs * dim;
    const grad = new Float64Array(nw + s.outputs);
    let penalty = 0;
    for (let k = 0; k < s.outputs; k++) {
      const c = (l.cols[i] as number) + k;
      for (let j = 0; j < dim; j++) {
        const wkj = x[k * dim + j] as number;
        penalty += wkj * wkj;
        grad[k * dim + j] = (G[j * C + c] as number) + s.p.l2 * wkj;
      }
      grad[nw + k] = G[dim * C + c] as number;
    }
    const trial = Float64Array.from(x);
    const v = valLoss[i] as number;
    if (s.opt.tell((loss[i] as number) + 0.5 * s.p.l2 * penalty, grad)) {
      if (v < s.best.valLoss - 1e-7 || s.nVal === 0) {
        s.best = { valLoss: v, x: trial, trainLoss: loss[i] as number };
        s.sinceBest = 0;
      } else if (++s.sinceBest >= patience) s.opt.stop();
    }
  });
}

/** Predicted class of each row of x [rows, dim]. */
export function predictLogistic(fit: LogisticFit, x: Float32Array, dim: number): Int32Array {
  const rows = x.length / dim;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    let bestZ = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < fit.outputs; k++) {
      let z = fit.bias[k] as number;
      for (let j = 0; j < dim; j++) z += (fit.weights[k * dim + j] as number) * (x[r * dim + j] as number);
      if (z > bestZ) {
        bestZ = z;
        best = k;
      }
    }
    out[r] = fit.outputs === 1 ? (bestZ > 0 ? 1 : 0) : best;
  }
  return out;
}
