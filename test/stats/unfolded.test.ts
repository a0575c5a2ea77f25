// The unfolded connection matrix against a direct simulation of a linear toy network whose
// sublayers are T ≡ identity or external injections, with non-commuting random A_r.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rngFromState } from '../../src/engine/random.ts';
import { type ModuleCoefficients, mixingProduct, unfoldedConnections } from '../../src/stats/unfolded.ts';

const n = 3;
const K = 6;

function randomModules(seed: number): ModuleCoefficients[] {
  const rng = rngFromState(seed);
  const v = () => Array.from({ length: n }, () => rng.normal());
  return Array.from({ length: K }, () => ({ read: v(), write: v(), mixing: Array.from({ length: n }, v) }));
}

/**
 * Runs the network on one scalar per stream, straight from docs/model.md: x = Σ_i A_m[i] H_i,
 * H'_t = Σ_s A_r[s][t] H_s, Ĥ_t = B[t]·y + H'_t, with y = branch(k, x). Returns every x and the
 * final stream sum.
 */
function simulate(mods: ModuleCoefficients[], h0: number, branch: (k: number, x: number) => number): { xs: number[]; out: number } {
  let H = new Array<number>(n).fill(h0);
  const xs: number[] = [];
  mods.forEach((m, k) => {
    let x = 0;
    for (let i = 0; i < n; i++) x += (m.read[i] as number) * (H[i] as number);
    xs.push(x);
    const y = branch(k, x);
    const next = new Array<number>(n).fill(0);
    for (let t = 0; t < n; t++) {
      let s = 0;
      for (let u = 0; u < n; u++) s += ((m.mixing[u] as number[])[t] as number) * (H[u] as number);
      next[t] = (m.write[t] as number) * y + s;
    }
    H = next;
  });
  return { xs, out: H.reduce((a, b) => a + b, 0) };
}

test('c_kj is the response of module k’s input to a unit output of sublayer j alone', () => {
  const mods = randomModules(7);
  const { matrix, output } = unfoldedConnections(mods);
  for (let j = 0; j < K; j++) {
    const { xs, out } = simulate(mods, 0, (k) => (k === j ? 1 : 0));
    for (let k = 0; k < K; k++) {
      const expected = k > j ? (xs[k] as number) : 0;
      assert.ok(Math.abs(((matrix[k] as number[])[j] as number) - expected) < 1e-9, `c[${k}][${j}] = ${(matrix[k] as number[])[j]}, simulated ${expected}`);
    }
    assert.ok(Math.abs((output[j] as number) - out) < 1e-9, `output[${j}]`);
  }
});

test('with T ≡ identity every module input is the embedding path plus Σ_j c_kj x_j', () => {
  const mods = randomModules(11);
  const { matrix, embed } = unfoldedConnections(mods);
  const h0 = 0.7;
  const { xs } = simulate(mods, h0, (_k, x) => x);
  for (let k = 0; k < K; k++) {
    let rebuilt = (embed[k] as number) * h0;
    for (let j = 0; j < k; j++) rebuilt += ((matrix[k] as number[])[j] as number) * (xs[j] as number);
    assert.ok(Math.abs(rebuilt - (xs[k] as number)) < 1e-9 * Math.max(1, Math.abs(xs[k] as number)), `module ${k}: ${rebuilt} vs ${xs[k]}`);
  }
});

test('the mixing product maps the first input to the last output when the branches are silent', () => {
  const mods = randomModules(3);
  const P = mixingProduct(mods.map((m) => m.mixing));
  // Start from stream 1 alone: the output stream sum is Σ_t P[1][t].
  const ones = simulateFrom(mods, [0, 1, 0]);
  const expected = (P[1] as number[]).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(ones - expected) < 1e-9);
  // The reverse order gives another number: the test would catch a transposed product.
  const reversed = mixingProduct([...mods].reverse().map((m) => m.mixing));
  assert.ok(Math.abs((reversed[1] as number[]).reduce((a, b) => a + b, 0) - expected) > 1e-3);
});

function simulateFrom(mods: ModuleCoefficients[], h: number[]): number {
  let H = h;
  for (const m of mods) H = Array.from({ length: n }, (_, t) => H.reduce((s, x, u) => s + ((m.mixing[u] as number[])[t] as number) * x, 0));
  return H.reduce((a, b) => a + b, 0);
}

test('plain residual (n = 1, all coefficients 1) connects every module to every later one', () => {
  const mods = Array.from({ length: 4 }, () => ({ read: [1], write: [1], mixing: [[1]] }));
  const { matrix, embed, output } = unfoldedConnections(mods);
  assert.deepEqual(matrix, [[0, 0, 0, 0], [1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0]]);
  assert.deepEqual(embed, [1, 1, 1, 1]);
  assert.deepEqual(output, [1, 1, 1, 1]);
});
