// Stream diagnostics on synthetic activations with known answers: a stream carrying 80% of
// the energy, identical and independent streams, a linearly predictable stream; coefficient
// metrics of identity and permutation mixing.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { coefficientDiagnostics } from '../../probes/coefficient-diagnostics.ts';
import type { CoefficientData } from '../../probes/load-site.ts';
import { splitBySequence } from '../../probes/sequence-split.ts';
import { streamDiagnostics } from '../../probes/stream-diagnostics.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { rngFromState } from '../../src/engine/random.ts';
import { tf } from '../../src/engine/tf.ts';

before(async () => {
  await initBackend('wasm');
});

const d = 16;
const rows = 8000;
const seqLen = 32;
const seq = Int32Array.from({ length: rows }, (_, r) => Math.floor(r / seqLen));
const split = splitBySequence(seq, { train: 0.64, val: 0.16 }, 0, 'ridge-split');

function gaussian(seed: number, scale: number): Float32Array {
  const rng = rngFromState(seed);
  return Float32Array.from({ length: rows * d }, () => scale * rng.normal());
}

test('one stream with 80% of the energy: dominance names it and N_eff is the analytic value', async () => {
  // Energies 0.8 and 0.2/3 for the others: E‖H_i‖² = d·σ_i².
  const shares = [0.2 / 3, 0.2 / 3, 0.8, 0.2 / 3];
  const streams = shares.map((s, i) => gaussian(10 + i, Math.sqrt(s)));
  const before_ = tf.memory().numTensors;
  const m = await streamDiagnostics(streams, d, split);
  assert.equal(tf.memory().numTensors, before_);
  assert.equal(m.signal.dominant, 2);
  assert.ok(Math.abs(m.signal.dominance - 0.8) < 0.01, `dominance ${m.signal.dominance}`);
  const nEff = Math.exp(-shares.reduce((a, s) => a + s * Math.log(s), 0)); // 2.0468…
  const simpson = 1 / shares.reduce((a, s) => a + s * s, 0); // 1.5254…
  assert.ok(Math.abs(m.signal.n_eff - nEff) < 0.03, `N_eff ${m.signal.n_eff}, expected ${nEff}`);
  assert.ok(Math.abs(m.signal.n_eff_simpson - simpson) < 0.03, `N_eff (Simpson) ${m.signal.n_eff_simpson}, expected ${simpson}`);
  // Independent streams: cosine, CKA and R² all near zero.
  assert.ok(Math.abs(m.mean_pairwise_cosine as number) < 0.02, `cosine ${m.mean_pairwise_cosine}`);
  assert.ok((m.mean_pairwise_cka as number) < 0.02, `CKA ${m.mean_pairwise_cka}`);
  for (let i = 0; i < 4; i++) for (let k = 0; k < 4; k++) if (i !== k) assert.ok(Math.abs((m.ridge_r2[i] as number[])[k] as number) < 0.02);
});

test('identical streams: cosine, CKA and ridge R² are 1; a noisy linear image has the analytic R²', async () => {
  const a = gaussian(1, 1);
  const noise = gaussian(2, 1);
  // Stream 2 = 2·a + ε with ε ~ N(0, 1): R²(0 → 2) = 1 − 1/(4 + 1) = 0.8.
  const c = Float32Array.from(a, (v, k) => 2 * v + (noise[k] as number));
  const m = await streamDiagnostics([a, Float32Array.from(a), c], d, split);
  assert.ok(Math.abs(((m.cosine[0] as number[])[1] as number) - 1) < 1e-6);
  assert.ok(Math.abs(((m.cka[0] as number[])[1] as number) - 1) < 1e-6);
  assert.ok(Math.abs(((m.ridge_r2[0] as number[])[1] as number) - 1) < 1e-4);
  assert.ok(Math.abs(((m.ridge_r2[0] as number[])[2] as number) - 0.8) < 0.02, `R² ${(m.ridge_r2[0] as number[])[2]}`);
  // cos(a, 2a + ε) ≈ 2/√5 per token on average (a little less: a ratio of norms).
  assert.ok(Math.abs(((m.cosine[0] as number[])[2] as number) - 2 / Math.sqrt(5)) < 0.03);
  assert.deepEqual(m.cka, m.cka.map((row, i) => row.map((_, k) => (m.cka[k] as number[])[i])));
});

function coefficients(read: number[], mixing: number[][], write: number[], n: number, tokens = 10): CoefficientData {
  return {
    rows: tokens, seq: new Int32Array(tokens), token: new Int32Array(tokens), labels: new Map(), nStreams: n,
    read: Float32Array.from({ length: tokens * n }, (_, k) => read[k % n] as number),
    mixing: Float32Array.from({ length: tokens * n * n }, (_, k) => (mixing[Math.floor((k % (n * n)) / n)] as number[])[k % n] as number),
    write: Float32Array.from({ length: tokens * n }, (_, k) => write[k % n] as number),
  };
}

test('coefficients: identity mixing is at distance 0; a permutation has off-diagonal mass 1 and gains 1', () => {
  const id = coefficientDiagnostics(coefficients([1, 0, 0], [[1, 0, 0], [0, 1, 0], [0, 0, 1]], [1, 1, 1], 3), 0, 'attn');
  assert.equal(id.identity_distance, 0);
  assert.equal(id.off_diagonal_mass, 0);
  assert.equal(id.read.dominant, 0);
  assert.equal(id.read.dominance, 1);
  assert.ok(Math.abs(id.write.n_eff - 3) < 1e-9);
  assert.deepEqual(id.read_share_tokens, { mean: [1, 0, 0], std: [0, 0, 0] });
  const perm = coefficientDiagnostics(coefficients([0.2, 0.6, 0.2], [[0, 1, 0], [0, 0, 1], [1, 0, 0]], [2, 1, 1], 3), 1, 'mlp');
  assert.equal(perm.index, 3);
  assert.equal(perm.off_diagonal_mass, 1);
  assert.ok(Math.abs(perm.identity_distance - Math.sqrt(6 / 3)) < 1e-6);
  assert.deepEqual(perm.amax, { forward: 1, backward: 1 });
  assert.equal(perm.read.dominant, 1);
  assert.ok(Math.abs(perm.write.dominance - 0.5) < 1e-6);
});
