// Many L2-regularised logistic regressions on one feature matrix at once (SPEC §4): a sigmoid
// for two classes, a softmax for more. Each problem runs its own L-BFGS (float64, in JS); their
// evaluations are batched into one pair of tfjs products X·W and Xᵀ·R per round, which the
// benchmark (bench/probes) found several times faster on wasm than one product per problem.
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
  lbfgs: { maxIterations: 100, gradTol: 1e-4, relTol: 1e-7 },
  patience: 10, // validation CE is noisy at the 1e-4 level; 10 iterations rides that out
};

export interface LogisticFit {
  nClasses: number;
  /** 1 for two classes (the logit of class 1), else nClasses. */
  outputs: number;
  /** [outputs, dim] row-major, then the biases [outputs]. */
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
  const X = tf.tensor2d(xTrain, [nTrain, dim]);
  const XT = tf.tidy(() => tf.transpose(X)); // wasm runs transposed products slowly; materialise once
  const XV = tf.tensor2d(xVal, [nVal, dim]);
  let layout: Layout | undefined;
  try {
    for (;;) {
      const active = states.filter((s) => !s.opt.done && s.nTrain > 0);
      if (active.length === 0) break;
      // Finished problems ride along (their tell() is a no-op) until repacking pays off.
      if (!layout || active.length < 0.6 * layout.states.length) {
        layout?.dispose();
        layout = buildLayout(active, nTrain, nVal);
      }
      round(layout, X, XT, XV, dim, o.patience);
    }
  } finally {
    layout?.dispose();
    X.dispose();
    XT.dispose();
    XV.dispose();
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

interface Group {
  outputs: number;
  members: State[];
  col: number;
  /** Train: targets (one-hot [N, G, K] or 0/1 [N, G]) and row weights valid/count [N, G]; the same for validation. */
  y: Tensor;
  w: Tensor;
  yv: Tensor;
  wv: Tensor;
}

interface Layout {
  states: State[];
  groups: Group[];
  cols: number;
  dispose(): void;
}

/** Problems with the same number of outputs share one reshaped block of columns. */
function buildLayout(states: State[], nTrain: number, nVal: number): Layout {
  const byOutputs = new Map<number, State[]>();
  for (const s of states) byOutputs.set(s.outputs, [...(byOutputs.get(s.outputs) ?? []), s]);
  let col = 0;
  const groups: Group[] = [];
  const ordered: State[] = [];
  for (const [outputs, members] of [...byOutputs.entries()].sort((a, b) => a[0] - b[0])) {
    const G = members.length;
    const targets = (n: number, pick: (s: State) => Int32Array, count: (s: State) => number) => {
      const y = new Float32Array(n * G * outputs);
      const w = new Float32Array(n * G);
      members.forEach((s, g) => {
        const labels = pick(s);
        const c = count(s);
        for (let r = 0; r < n; r++) {
          const v = labels[r] as number;
          if (v < 0) continue;
          w[r * G + g] = 1 / c;
          if (outputs === 1) y[r * G + g] = v;
          else y[(r * G + g) * outputs + v] = 1;
        }
      });
      const shape = outputs === 1 ? [n, G] : [n, G, outputs];
      return { y: tf.tensor(y, shape), w: tf.tensor2d(w, [n, G]) };
    };
    const tr = targets(nTrain, (s) => s.p.yTrain, (s) => s.nTrain);
    const va = targets(nVal, (s) => s.p.yVal, (s) => Math.max(1, s.nVal));
    groups.push({ outputs, members, col, y: tr.y, w: tr.w, yv: va.y, wv: va.w });
    ordered.push(...members);
    col += G * outputs;
  }
  return {
    states: ordered,
    groups,
    cols: col,
    dispose: () => {
      for (const g of groups) for (const t of [g.y, g.w, g.yv, g.wv]) t.dispose();
    },
  };
}

/** Mean CE per problem [G] and, for training, the weighted residual P − Y [N, G·K]. */
function groupLoss(g: Group, Z: Tensor, y: Tensor, w: Tensor, withResidual: boolean): { loss: Tensor; residual?: Tensor } {
  const N = Z.shape[0] as number;
  const G = g.members.length;
  const z = tf.slice(Z, [0, g.col], [N, G * g.outputs]);
  if (g.outputs === 1) {
    const loss = tf.sum(tf.mul(tf.sub(tf.softplus(z), tf.mul(y, z)), w), 0); // [G]
    return withResidual ? { loss, residual: tf.mul(tf.sub(tf.sigmoid(z), y), w) } : { loss };
  }
  const zg = tf.reshape(z, [N, G, g.outputs]);
  const logp = tf.sub(zg, tf.logSumExp(zg, 2, true)); // [N, G, K]
  const loss = tf.neg(tf.sum(tf.mul(tf.sum(tf.mul(y, logp), 2), w), 0)); // [G]
  if (!withResidual) return { loss };
  const residual = tf.reshape(tf.mul(tf.sub(tf.exp(logp), y), tf.expandDims(w, 2)), [N, G * g.outputs]);
  return { loss, residual };
}

function round(l: Layout, X: Tensor, XT: Tensor, XV: Tensor, dim: number, patience: number): void {
  const C = l.cols;
  const W = new Float32Array(dim * C);
  const b = new Float32Array(C);
  for (const g of l.groups) {
    g.members.forEach((s, m) => {
      const x = s.opt.ask();
      for (let k = 0; k < g.outputs; k++) {
        const c = g.col + m * g.outputs + k;
        for (let j = 0; j < dim; j++) W[j * C + c] = x[k * dim + j] as number;
        b[c] = x[g.outputs * dim + k] as number;
      }
    });
  }
  // tidy() returns the tensor, not its data: tidy walks a returned typed array element by element.
  const packed = tf.tidy(() => {
    const Wt = tf.tensor2d(W, [dim, C]);
    const bt = tf.tensor1d(b);
    const Z = tf.add(tf.matMul(X, Wt), bt);
    const ZV = tf.add(tf.matMul(XV, Wt), bt);
    const losses: Tensor[] = [];
    const valLosses: Tensor[] = [];
    const residuals: Tensor[] = [];
    for (const g of l.groups) {
      const t = groupLoss(g, Z, g.y, g.w, true);
      losses.push(t.loss);
      residuals.push(t.residual as Tensor);
      valLosses.push(groupLoss(g, ZV, g.yv, g.wv, false).loss);
    }
    const R = residuals.length === 1 ? (residuals[0] as Tensor) : tf.concat(residuals, 1); // [N, C]
    const gradW = tf.matMul(XT, R); // [dim, C]
    const gradB = tf.sum(R, 0); // [C]
    return tf.concat([tf.concat(losses), tf.concat(valLosses), tf.reshape(gradW, [-1]), gradB]);
  });
  const out = packed.dataSync() as Float32Array;
  packed.dispose();
  const P = l.states.length;
  let i = 0;
  for (const g of l.groups) {
    g.members.forEach((s, m) => {
      const x = s.opt.ask();
      const nw = g.outputs * dim;
      const grad = new Float64Array(nw + g.outputs);
      let penalty = 0;
      for (let k = 0; k < g.outputs; k++) {
        const c = g.col + m * g.outputs + k;
        for (let j = 0; j < dim; j++) {
          const wkj = x[k * dim + j] as number;
          penalty += wkj * wkj;
          grad[k * dim + j] = (out[2 * P + j * C + c] as number) + s.p.l2 * wkj;
        }
        grad[nw + k] = out[2 * P + dim * C + c] as number;
      }
      const trainLoss = out[i] as number;
      const valLoss = out[P + i] as number;
      const trial = Float64Array.from(x);
      if (s.opt.tell(trainLoss + 0.5 * s.p.l2 * penalty, grad)) {
        if (valLoss < s.best.valLoss - 1e-7 || s.nVal === 0) {
          s.best = { valLoss, x: trial, trainLoss };
          s.sinceBest = 0;
        } else if (++s.sinceBest >= patience) s.opt.stop();
      }
      i++;
    });
  }
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
