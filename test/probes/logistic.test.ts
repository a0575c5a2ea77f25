// The batched logistic regression against closed forms and planted rules; batched fits equal
// separate fits; no tensors leak.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { fitLogisticBatch, type LogisticProblem, predictLogistic } from '../../probes/logistic-batch.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { rngFromState } from '../../src/engine/random.ts';
import { tf } from '../../src/engine/tf.ts';

before(async () => {
  await initBackend('wasm');
});

const EXACT = { lbfgs: { maxIterations: 500, gradTol: 1e-6, relTol: 0 }, patience: 1000 };
const logit = (p: number) => Math.log(p / (1 - p));

test('binary, one 0/1 feature, no penalty: the fit reproduces the empirical log-odds (closed form)', () => {
  // x = 0: 30 of 100 positive; x = 1: 80 of 100 positive. MLE: b = logit(0.3), w = logit(0.8) − logit(0.3).
  const x = new Float32Array(200);
  const y = new Int32Array(200);
  for (let r = 0; r < 200; r++) {
    x[r] = r < 100 ? 0 : 1;
    y[r] = r < 100 ? (r < 30 ? 1 : 0) : r - 100 < 80 ? 1 : 0;
  }
  const [fit] = fitLogisticBatch(x, x, 1, [{ nClasses: 2, yTrain: y, yVal: y, l2: 0 }], EXACT);
  assert.ok(fit);
  assert.ok(Math.abs((fit.bias[0] as number) - logit(0.3)) < 2e-3, `b = ${fit.bias[0]}`);
  assert.ok(Math.abs((fit.weights[0] as number) - (logit(0.8) - logit(0.3))) < 2e-3, `w = ${fit.weights[0]}`);
});

test('softmax, no informative feature: predicted probabilities are the class frequencies', () => {
  const freq = [0.5, 0.3, 0.2];
  const n = 1000;
  const y = Int32Array.from({ length: n }, (_, r) => (r < 500 ? 0 : r < 800 ? 1 : 2));
  const x = new Float32Array(n); // a constant zero feature
  const [fit] = fitLogisticBatch(x, x, 1, [{ nClasses: 3, yTrain: y, yVal: y, l2: 1e-3 }], EXACT);
  assert.ok(fit);
  const z = Array.from(fit.bias);
  const s = z.reduce((a, v) => a + Math.exp(v), 0);
  z.forEach((v, k) => assert.ok(Math.abs(Math.exp(v) / s - (freq[k] as number)) < 1e-3, `p[${k}] = ${Math.exp(v) / s}`));
});

/** x ~ N(0, I_d) (seed `seed`) and classes from a planted linear rule (seed `ruleSeed`). */
function planted(rows: number, d: number, K: number, seed: number, ruleSeed = 0) {
  const ruleRng = rngFromState(ruleSeed);
  const W = Array.from({ length: K }, () => Array.from({ length: d }, () => ruleRng.normal()));
  const rng = rngFromState(seed);
  const x = Float32Array.from({ length: rows * d }, () => rng.normal());
  const y = Int32Array.from({ length: rows }, (_, r) => {
    const z = W.map((w) => w.reduce((a, v, j) => a + v * (x[r * d + j] as number), 0));
    return K === 2 ? ((z[0] as number) > 0 ? 1 : 0) : z.indexOf(Math.max(...z));
  });
  return { x, y };
}

test('recovers planted linear rules (two and four classes) on held-out rows', () => {
  const d = 8;
  for (const K of [2, 4]) {
    const train = planted(3000, d, K, 1);
    const held = planted(1000, d, K, 2);
    const [fit] = fitLogisticBatch(train.x, held.x, d, [{ nClasses: K, yTrain: train.y, yVal: held.y, l2: 1e-4 }]);
    assert.ok(fit);
    const pred = predictLogistic(fit, held.x, d);
    const acc = pred.reduce((a, p, r) => a + (p === held.y[r] ? 1 : 0), 0) / 1000;
    assert.ok(acc > 0.95, `${K} classes: accuracy ${acc}`);
  }
});

test('fitting problems together gives the fits of fitting each alone; labels −1 are ignored', () => {
  const d = 5;
  const { x, y } = planted(800, d, 3, 7);
  const xv = x.subarray(0, 200 * d);
  const masked = Int32Array.from(y, (v, r) => (r % 3 === 0 ? -1 : v));
  const binary = Int32Array.from(y, (v) => (v === 0 ? 1 : 0));
  const problems: LogisticProblem[] = [
    { nClasses: 3, yTrain: y, yVal: y.subarray(0, 200), l2: 1e-2 },
    { nClasses: 3, yTrain: masked, yVal: masked.subarray(0, 200), l2: 1e-3 },
    { nClasses: 2, yTrain: binary, yVal: binary.subarray(0, 200), l2: 1e-2 },
  ];
  const together = fitLogisticBatch(x, xv, d, problems, EXACT);
  problems.forEach((p, i) => {
    const [alone] = fitLogisticBatch(x, xv, d, [p], EXACT);
    const a = together[i];
    assert.ok(a && alone);
    const diff = Math.max(...Array.from(a.weights, (w, j) => Math.abs(w - (alone.weights[j] as number))));
    assert.ok(diff < 1e-3, `problem ${i}: max |Δw| ${diff}`);
  });
  // Rows labelled −1 do not count: dropping them gives the same fit.
  const keep = Array.from({ length: 800 }, (_, r) => r).filter((r) => r % 3 !== 0);
  const xk = Float32Array.from(keep.flatMap((r) => Array.from(x.subarray(r * d, (r + 1) * d))));
  const [dropped] = fitLogisticBatch(xk, xv, d, [{ nClasses: 3, yTrain: Int32Array.from(keep, (r) => y[r] as number), yVal: masked.subarray(0, 200), l2: 1e-3 }], EXACT);
  const diff = Math.max(...Array.from((together[1] as NonNullable<(typeof together)[1]>).weights, (w, j) => Math.abs(w - (dropped?.weights[j] as number))));
  assert.ok(diff < 1e-3, `masked vs dropped rows: max |Δw| ${diff}`);
});

test('early stopping keeps the iterate with the lowest validation loss', () => {
  // Training labels are noise: any fit beyond the intercept hurts held-out CE.
  // 100 rows in 60 dimensions are separable: without a penalty the weights grow without end.
  const rng = rngFromState(3);
  const d = 60;
  const x = Float32Array.from({ length: 100 * d }, () => rng.normal());
  const y = Int32Array.from({ length: 100 }, () => (rng.next() < 0.5 ? 1 : 0));
  const xv = Float32Array.from({ length: 2000 * d }, () => rng.normal());
  const yv = Int32Array.from({ length: 2000 }, () => (rng.next() < 0.5 ? 1 : 0));
  const [stopped] = fitLogisticBatch(x, xv, d, [{ nClasses: 2, yTrain: y, yVal: yv, l2: 0 }], { patience: 5 });
  const [full] = fitLogisticBatch(x, xv, d, [{ nClasses: 2, yTrain: y, yVal: yv, l2: 0 }], { lbfgs: { maxIterations: 100, relTol: 0, gradTol: 0 }, patience: 1e9 });
  assert.ok(stopped && full);
  assert.equal(stopped.status, 'stopped');
  assert.ok(stopped.iterations < full.iterations, `${stopped.iterations} vs ${full.iterations} iterations`);
  // Both return the best validation iterate seen, which the longer run could not improve on.
  assert.ok(Math.abs(stopped.valLoss - full.valLoss) < 1e-6);
  assert.ok(stopped.valLoss <= Math.log(2) + 1e-6);
});

test('leaves no tensors behind', () => {
  const { x, y } = planted(300, 4, 3, 9);
  const before_ = tf.memory().numTensors;
  fitLogisticBatch(x, x, 4, [{ nClasses: 3, yTrain: y, yVal: y, l2: 1e-3 }, { nClasses: 2, yTrain: Int32Array.from(y, (v) => v & 1), yVal: y, l2: 1e-3 }]);
  assert.equal(tf.memory().numTensors, before_);
});
