// Linear CKA and cross-stream ridge R² on cases with known answers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rngFromState } from '../../src/engine/random.ts';
import { linearCka } from '../../src/stats/cka.ts';
import { choleskySolve } from '../../src/stats/cholesky.ts';
import { addRows, emptyMoments, mergeMoments } from '../../src/stats/moments.ts';
import { fitRidge, ridgeR2, selectRidge } from '../../src/stats/ridge.ts';

const d = 6;
const A = { offset: 0, width: d };
const B = { offset: d, width: d };

/** Rows [x, f(x)] of 2d features with x ~ N(0, 1) + 3 (an offset the centring must remove). */
function moments(rows: number, seed: number, f: (x: number[], rng: ReturnType<typeof rngFromState>) => number[]) {
  const rng = rngFromState(seed);
  const m = emptyMoments(2 * d);
  const buf = new Float64Array(2 * d);
  for (let r = 0; r < rows; r++) {
    const x = Array.from({ length: d }, () => rng.normal() + 3);
    buf.set(x, 0);
    buf.set(f(x, rng), d);
    addRows(m, buf, 1);
  }
  return m;
}

test('CKA: identical blocks give 1, rotated and scaled copies give 1, independent blocks give ≈ 0', () => {
  assert.ok(Math.abs(linearCka(moments(2000, 1, (x) => x), A, B) - 1) < 1e-9);
  // An orthogonal map (a permutation with sign flips) times 5: CKA is invariant to both.
  const rot = (x: number[]) => x.map((_, i) => (i % 2 ? -5 : 5) * (x[(i + 1) % d] as number));
  assert.ok(Math.abs(linearCka(moments(2000, 2, rot), A, B) - 1) < 1e-9);
  const indep = linearCka(moments(20000, 3, (_x, rng) => Array.from({ length: d }, () => rng.normal())), A, B);
  // E[CKA] of independent Gaussians is about d/N here.
  assert.ok(indep >= 0 && indep < 0.01, `independent CKA ${indep}`);
  // A partly shared block sits in between.
  const half = linearCka(moments(20000, 4, (x, rng) => x.map((v) => v - 3 + rng.normal())), A, B);
  assert.ok(half > 0.2 && half < 0.8, `half-shared CKA ${half}`);
});

test('Cholesky solves a known system', () => {
  const M = Float64Array.from([4, 2, 0, 2, 5, 1, 0, 1, 3]);
  const x = [1, -2, 0.5];
  const b = Float64Array.from([4 * 1 + 2 * -2, 2 * 1 + 5 * -2 + 0.5, -2 + 1.5]);
  const got = choleskySolve(M, b, 3, 1);
  x.forEach((v, i) => assert.ok(Math.abs((got[i] as number) - v) < 1e-12));
  assert.throws(() => choleskySolve(Float64Array.from([1, 2, 2, 1]), Float64Array.from([1, 1]), 2, 1), /not positive definite/);
});

test('ridge R²: y = xW + noise gives 1 − σ²/Var(y); independent targets give ≈ 0', () => {
  // y_j = 2·x_j + x_{j+1} + ε, ε ~ N(0, 1): Var(y_j) = 4 + 1 + 1 = 6, so R² = 1 − 1/6.
  const lin = (x: number[], rng: ReturnType<typeof rngFromState>) => x.map((v, j) => 2 * (v - 3) + ((x[(j + 1) % d] as number) - 3) + rng.normal() + 10);
  const train = moments(20000, 5, lin);
  const test_ = moments(5000, 6, lin);
  const fit = fitRidge(train, A, B, 1e-6);
  assert.ok(Math.abs((fit.weights[0] as number) - 2) < 0.03, `W[0][0] = ${fit.weights[0]}`); // x_0 → y_0
  assert.ok(Math.abs((fit.weights[0 * d + (d - 1)] as number) - 1) < 0.03, `W[0][d−1] = ${fit.weights[d - 1]}`); // x_0 → y_{d−1}
  const r2 = ridgeR2(fit, test_, A, B);
  assert.ok(Math.abs(r2 - 5 / 6) < 0.02, `R² ${r2}`);
  const noise = (_x: number[], rng: ReturnType<typeof rngFromState>) => Array.from({ length: d }, () => rng.normal());
  const nTrain = moments(5000, 7, noise);
  const nVal = moments(2000, 8, noise);
  const nTest = moments(2000, 9, noise);
  const sel = selectRidge(nTrain, nVal, nTest, mergeMoments(nTrain, nVal), A, B, [1e-3, 1e-1, 10]);
  assert.ok(Math.abs(sel.r2) < 0.02, `independent R² ${sel.r2}`);
  // A strong penalty shrinks W towards zero, and R² with it.
  assert.ok(ridgeR2(fitRidge(train, A, B, 100), test_, A, B) < r2 - 0.3);
});
