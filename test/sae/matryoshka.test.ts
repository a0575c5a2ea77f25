// Matryoshka SAEs (Bussmann et al. 2025) on data with a planted hierarchy: four frequent, strong
// directions and sixty rare, weak ones. The first prefix (four latents) must point at the strong
// directions and reconstruct far better alone than the first four latents of a plain BatchTopK SAE.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.ts';
import { type Rng, rngFor } from '../../src/engine/random.ts';
import { SaeRunner } from '../../sae/apply.ts';
import { type SaeKind, saeTrainConfig } from '../../sae/config.ts';
import { matryoshkaBackward, prefixReconstruction } from '../../sae/matryoshka.ts';
import { ReconstructionStats } from '../../sae/metrics.ts';
import { initSaeParams } from '../../sae/sae-params.ts';
import { totalVariance } from '../../sae/train-step.ts';
import type { BatchSource } from '../../sae/train.ts';
import { trainSae } from '../../sae/train.ts';
import { bestCosines, knownDictionary } from './helpers.ts';

before(async () => {
  await initBackend('wasm');
});

const d = 32;
const dict = knownDictionary(d, 64, 31);
const strong = dict.subarray(0, 4 * d);

/** Each of features 0–3 fires with probability ½ at magnitude 3–4; two of features 4–63 fire at 0.5–1.5. */
function sample(rows: number, rng: Rng): Float32Array {
  const x = new Float32Array(rows * d);
  const add = (b: number, f: number, c: number) => {
    for (let t = 0; t < d; t++) x[b * d + t] = (x[b * d + t] as number) + c * (dict[f * d + t] as number);
  };
  for (let b = 0; b < rows; b++) {
    for (let f = 0; f < 4; f++) if (rng.next() < 0.5) add(b, f, 3 + rng.next());
    for (let j = 0; j < 2; j++) add(b, 4 + rng.int(60), 0.5 + rng.next());
  }
  return x;
}

async function prefixEv(act: SaeKind): Promise<{ ev: number; strongCos: number[] }> {
  const rng = rngFor(32, 'hierarchy');
  const source: BatchSource = { next: async () => sample(1024, rng) };
  const cfg = saeTrainConfig({ act, dIn: d, dSae: 128, tokens: 120_000, batch: 1024, seed: 33 });
  const r = await trainSae(cfg, source);
  const x = sample(2048, rngFor(34, 'held-out'));
  const runner = new SaeRunner(r.params);
  const codes = runner.encode(x, 2048);
  runner.dispose();
  const stats = new ReconstructionStats(d);
  stats.add(x, prefixReconstruction(r.params, codes, 4), 2048);
  return { ev: stats.ev(), strongCos: bestCosines(strong, r.params.wDec.subarray(0, 4 * d), d) };
}

test('the first Matryoshka prefix holds the dominant directions and reconstructs better than a plain SAE\'s first latents', async () => {
  const mat = await prefixEv({ kind: 'matryoshka', k: 4, prefixes: [4, 16, 128] });
  const plain = await prefixEv({ kind: 'batchtopk', k: 4 });
  // Measured: cosines ≈ 0.7 (the four latents also absorb part of the other strong directions'
  // absence from b_dec, the data mean), against ≤ 0.45 for the plain SAE's first four.
  assert.ok(mat.strongCos.every((c) => c >= 0.6), `best cosines of the strong directions with latents 0–3: ${mat.strongCos}`);
  assert.ok(mat.ev > 0.4, `EV of the first prefix alone ${mat.ev}`);
  assert.ok(mat.ev > plain.ev + 0.3, `Matryoshka prefix EV ${mat.ev} vs BatchTopK's first four latents ${plain.ev}`);
});

test('matryoshkaBackward: the gradients are those of Σ_j FVU_j (finite differences, codes held fixed)', () => {
  // With the codes fixed, Σ_j FVU_j is quadratic in W_dec and b_dec, and linear-then-quadratic in
  // each code value (whose gradient δ_bi is what ∂b_enc collects): central differences are exact
  // up to rounding. A latent of group g must see Σ_{j ≥ g} (x̂_j − x), not its own prefix's error alone.
  const dd = 6;
  const prefixes = [2, 4, 8];
  const m = 8;
  const rows = 5;
  const rng = rngFor(41, 'matryoshka-fd');
  const p = initSaeParams(dd, m, { kind: 'matryoshka', k: 3, prefixes }, 41);
  for (let t = 0; t < dd; t++) p.bDec[t] = 0.3 * rng.normal();
  const x = Float32Array.from({ length: rows * dd }, () => rng.normal());
  const xc = x.map((v, k) => v - (p.bDec[k % dd] as number));
  // Every row uses one latent of each group (and row 0 a second of group 0).
  const idx = [[0, 3, 6], [1, 2, 7], [0, 4, 5], [1, 3, 7], [0, 1, 2, 6]];
  const rowPtr = Int32Array.from([0, ...idx.map((_, b) => idx.slice(0, b + 1).flat().length)]);
  const codes = { rows, rowPtr, idx: Int32Array.from(idx.flat()), val: Float32Array.from(idx.flat(), () => 0.5 + rng.next()) };
  const variance = totalVariance(x, rows, dd);
  const zeros = () => ({ wDec: new Float32Array(m * dd), wEncT: new Float32Array(m * dd), bEnc: new Float32Array(m), bDec: new Float32Array(dd) });
  const g = zeros();
  const r = matryoshkaBackward(codes, x, xc, p, prefixes, variance, g);
  assert.equal(r.prefixFvu.length, 3);
  assert.ok(Math.abs(r.loss - r.prefixFvu.reduce((a, b) => a + b, 0)) < 1e-12);
  const lossAt = () => matryoshkaBackward(codes, x, xc, p, prefixes, variance, zeros()).loss;
  const fd = (arr: Float32Array, k: number) => {
    const h = 1e-2;
    const v = arr[k] as number;
    arr[k] = v + h;
    const up = lossAt();
    arr[k] = v - h;
    const down = lossAt();
    arr[k] = v;
    return (up - down) / (2 * h);
  };
  const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 2e-3 * Math.max(1, Math.abs(b)), `${what}: analytic ${a} vs finite difference ${b}`);
  for (const i of [0, 3, 6]) for (const t of [0, 5]) close(g.wDec[i * dd + t] as number, fd(p.wDec, i * dd + t), `W_dec[${i}][${t}]`);
  for (let t = 0; t < dd; t++) close(g.bDec[t] as number, fd(p.bDec, t), `b_dec[${t}] (decoder side)`);
  // ∂b_enc[i] = Σ_b ∂L/∂f_bi over the rows where latent i is active.
  for (const i of [0, 4, 7]) {
    let want = 0;
    for (let q = 0; q < codes.val.length; q++) if (codes.idx[q] === i) want += fd(codes.val, q);
    close(g.bEnc[i] as number, want, `b_enc[${i}]`);
  }
});
