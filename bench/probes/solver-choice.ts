// Which engine evaluates the probe objective fastest (docs/metrics.md's solver choice): one mean-CE
// value and gradient of a softmax/logistic regression on N × d features, per problem, as
// (a) plain JavaScript float64 loops, one problem at a time; (b) tfjs-wasm, one problem at a
// time; (c) tfjs-wasm batched, all problems of a feature matrix in one pair of products.
// usage: node --import tsx bench/probes/solver-choice.ts [N] [d]
import { fitLogisticBatch } from '../../probes/logistic-batch.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { tf } from '../../src/engine/tf.ts';

const N = Number(process.argv[2] ?? 12000);
const d = Number(process.argv[3] ?? 64);
const info = await initBackend('wasm');
let seed = 1;
const rand = () => {
  seed = (seed * 16807) % 2147483647;
  return seed / 2147483647 - 0.5;
};
const x = Float32Array.from({ length: N * d }, rand);

/** (a) One evaluation in float64 JS, W as [K, d]. */
function jsEval(W: Float64Array, y: Int32Array, K: number): number {
  const G = new Float64Array(K * d);
  const z = new Float64Array(K);
  let loss = 0;
  for (let r = 0; r < N; r++) {
    const off = r * d;
    let mx = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (x[off + j] as number) * (W[k * d + j] as number);
      z[k] = s;
      if (s > mx) mx = s;
    }
    let se = 0;
    for (let k = 0; k < K; k++) se += (z[k] = Math.exp((z[k] as number) - mx));
    loss += Math.log(se) + mx - Math.log(z[y[r] as number] as number) - mx;
    for (let k = 0; k < K; k++) {
      const p = (z[k] as number) / se - (k === y[r] ? 1 : 0);
      for (let j = 0; j < d; j++) G[k * d + j] = (G[k * d + j] as number) + p * (x[off + j] as number);
    }
  }
  return loss / N + (G[0] as number);
}

/** (b) One evaluation with tfjs, one problem. */
const X = tf.tensor2d(x, [N, d]);
const XT = tf.transpose(X);
function tfEval(W: Float32Array, Y: import('@tensorflow/tfjs').Tensor, K: number): number {
  const out = tf.tidy(() => {
    const z = tf.matMul(X, tf.tensor2d(W, [d, K]));
    const lp = tf.logSoftmax(z);
    const loss = tf.neg(tf.mean(tf.sum(tf.mul(lp, Y), 1)));
    const g = tf.matMul(XT, tf.sub(tf.exp(lp), Y));
    return tf.concat([tf.reshape(loss, [1]), tf.reshape(g, [-1])]);
  });
  const v = out.dataSync()[0] as number;
  out.dispose();
  return v;
}

const time = (f: () => void, reps: number) => {
  f();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) f();
  return (performance.now() - t0) / reps;
};
const rows: string[] = [];
for (const K of [2, 9]) {
  const y = Int32Array.from({ length: N }, (_, r) => r % K);
  const Y = tf.oneHot(tf.tensor1d(y, 'int32'), K).toFloat();
  const W = Float64Array.from({ length: K * d }, () => rand() * 0.1);
  const js = time(() => jsEval(W, y, K), 5);
  const one = time(() => tfEval(Float32Array.from(W), Y, K), 10);
  // (c) 14 problems of K classes batched: time per round (20 fixed iterations), per problem.
  const P = 14;
  const problems = Array.from({ length: P }, () => ({ nClasses: K, yTrain: y, yVal: y.subarray(0, 2000), l2: 1e-4 }));
  const xv = x.subarray(0, 2000 * d);
  const batched = time(() => void fitLogisticBatch(x, xv, d, problems, { lbfgs: { maxIterations: 20, gradTol: 0, relTol: 0 }, patience: 1000 }), 2) / 21 / P;
  rows.push(`| ${K} | ${js.toFixed(2)} | ${one.toFixed(2)} | ${batched.toFixed(2)} |`);
  Y.dispose();
}
console.log(`Objective + gradient, N = ${N}, d = ${d}, ms per problem per evaluation (${info.device}; batched includes the L-BFGS bookkeeping and a validation pass on 2000 rows):\n`);
console.log('| classes | JS float64, one problem | tfjs-wasm, one problem | tfjs-wasm, 14 problems batched |');
console.log('| --- | --- | --- | --- |');
console.log(rows.join('\n'));
