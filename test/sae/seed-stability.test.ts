// Evidence metrics at known values: spread over seeds, top-stream summaries and the stability
// verdict; shrinkage ‖x̂‖/‖x‖; near-duplicate decoder rows.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.ts';
import { decoderSimilarity, maxCosines } from '../../sae/decoder-similarity.ts';
import { ReconstructionStats } from '../../sae/metrics.ts';
import type { SeedAttribution } from '../../sae/results-schema.ts';
import { seedStability, spread, topStreamSummary } from '../../sae/seed-stability.ts';

before(async () => {
  await initBackend('wasm');
});

test('spread: mean, sample std, min and max', () => {
  const s = spread([1, 2, 3, 6]);
  assert.equal(s.mean, 3);
  assert.ok(Math.abs(s.std - Math.sqrt(14 / 3)) < 1e-12);
  assert.deepEqual([s.min, s.max], [1, 6]);
  assert.equal(spread([0.4]).std, 0);
});

test('top-stream summary counts live latents only; stability needs the same majority for every seed', () => {
  // Three latents in two streams: 0 → stream 1 (0.8), 1 → stream 0 (0.6), 2 dead (all in stream 0).
  const shares = Float64Array.from([0.2, 0.8, 0.6, 0.4, 1, 0]);
  const t = topStreamSummary(shares, 2, [true, true, false]);
  assert.equal(t.live, 2);
  assert.deepEqual(t.topStream, [0.5, 0.5]);
  assert.ok(Math.abs(t.meanTopShare - 0.7) < 1e-12);
  const seed = (s: number, top: number[]): SeedAttribution => ({ seed: s, path: `p${s}`, live: 10, top_stream: top, by_stream: top, mean_top_share: 0.7, majority: top[0] as number > (top[1] as number) ? 0 : 1, ev: 0.9 });
  const stable = seedStability(1, [seed(0, [0.3, 0.7]), seed(1, [0.4, 0.6]), seed(2, [0.2, 0.8])]);
  assert.equal(stable.stable, true);
  assert.equal(stable.majority, 1);
  assert.ok(Math.abs((stable.top_stream[1] as { mean: number }).mean - 0.7) < 1e-12);
  assert.deepEqual([stable.top_stream[0]?.min, stable.top_stream[0]?.max], [0.2, 0.4]);
  const flip = seedStability(1, [seed(0, [0.3, 0.7]), seed(1, [0.6, 0.4])]);
  assert.equal(flip.stable, false);
  assert.equal(flip.majority, null);
  // A tie, or a seed with no live latent, is no majority, though argmax says stream 0 for both.
  const tie = seedStability(1, [seed(0, [0.5, 0.5]), seed(1, [0.5, 0.5])]);
  assert.deepEqual([tie.stable, tie.majority], [false, null]);
  const dead = seedStability(1, [seed(0, [0.7, 0.3]), { ...seed(1, [0, 0]), live: 0, majority: 0 }]);
  assert.deepEqual([dead.stable, dead.majority], [false, null]);
});

test('shrinkage of x̂ = 0.5·x is 0.5; zero rows of x are skipped', () => {
  const x = Float32Array.from([3, 4, 0, 0, 1, 0]);
  const stats = new ReconstructionStats(2);
  stats.add(x, x.map((v) => 0.5 * v), 3);
  assert.ok(Math.abs(stats.shrinkage() - 0.5) < 1e-12);
});

test('near-duplicate latents: a row at cosine 0.95 to another makes both near-duplicates', () => {
  const c = Math.sqrt(1 - 0.95 ** 2);
  // Rows: e0, 0.95·e0 + c·e1 (scaled by 2: the norm must not matter), e2, −e2.
  const w = Float32Array.from([1, 0, 0, 1.9, 2 * c, 0, 0, 0, 1, 0, 0, -1]);
  const cos = maxCosines(w, 4, 3);
  assert.ok(Math.abs((cos[0] as number) - 0.95) < 1e-6 && Math.abs((cos[1] as number) - 0.95) < 1e-6, `${cos}`);
  assert.ok(Math.abs((cos[2] as number)) < 1e-6, 'e2 is orthogonal to rows 0–1 and opposite to row 3');
  const s = decoderSimilarity(w, 4, 3);
  assert.equal(s.near_duplicate, 0.5);
  assert.ok(Math.abs(s.mean_max_cos - (0.95 + 0.95) / 4) < 1e-6, `${s.mean_max_cos}`);
});
