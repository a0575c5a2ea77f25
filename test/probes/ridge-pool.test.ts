// Ridge fits spread over worker threads (probes/ridge-pool.ts, probes/worker-pool.ts): the same
// matrices as on the main thread alone, a worker's error reaches the caller, and one runAll at a time.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type RidgeJob, type RidgePool, ridgeMatrix, runRidgeJob, startRidgePool } from '../../probes/ridge-pool.ts';
import { splitBySequence } from '../../probes/sequence-split.ts';
import { RIDGE_ALPHAS, streamDiagnostics } from '../../probes/stream-diagnostics.ts';
import { streamMoments } from '../../probes/stream-moments.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { rngFromState } from '../../src/engine/random.ts';
import { emptyMoments, type Moments, mergeMoments } from '../../src/stats/moments.ts';

const d = 8;
const rows = 3200;
const seq = Int32Array.from({ length: rows }, (_, r) => Math.floor(r / 32));
const split = splitBySequence(seq, { train: 0.64, val: 0.16 }, 0, 'ridge-split');
let pool: RidgePool;

/** Three streams: noise, a noisy linear image of it, and a sum of both; every pair has its own R². */
function streams(): Float32Array[] {
  const rng = rngFromState(3);
  const a = Float32Array.from({ length: rows * d }, () => rng.normal());
  const b = Float32Array.from(a, (v, k) => 0.5 * v * ((k % d) + 1) + rng.normal());
  const c = Float32Array.from(a, (v, k) => v - (b[k] as number) + 0.3 * rng.normal());
  return [a, b, c];
}

before(async () => {
  await initBackend('wasm');
  pool = await startRidgePool(2);
});
after(async () => {
  await pool.close();
});

test('two worker threads give the metrics of the main thread alone, pair by pair', async () => {
  const s = streams();
  const alone = await streamDiagnostics(s, d, split);
  const spread = await streamDiagnostics(s, d, split, pool);
  assert.deepEqual(spread, alone);
  // Not a trivial matrix: the pairs differ, and none sits at the diagonal's placeholder.
  const off = alone.ridge_r2.flatMap((row, i) => row.filter((_, k) => k !== i));
  assert.equal(new Set(off).size, 6);
  for (const r2 of off) assert.ok(r2 > 0.05 && r2 < 0.999, `R² ${r2}`);
  for (const row of alone.ridge_alpha) for (const a of row) assert.ok(a === 0 || RIDGE_ALPHAS.includes(a));
});

test('ridgeMatrix: row = source, column = target, as a direct job on the pair', async () => {
  const [train, val, test_] = streamMoments(streams(), d, split.part) as [Moments, Moments, Moments];
  const parts = { train, val, test: test_, trainVal: mergeMoments(train, val) };
  const m = await ridgeMatrix(parts, 3, d, RIDGE_ALPHAS, pool);
  const direct = runRidgeJob({ ...parts, d, pairs: [[2, 0], [0, 2]], alphas: RIDGE_ALPHAS });
  assert.deepEqual(m[2]?.[0], direct[0]);
  assert.deepEqual(m[0]?.[2], direct[1]);
  assert.deepEqual(m[1]?.[1], { alpha: 0, r2: 1 });
});

test("a worker's error rejects runAll with its message; a second runAll at once is refused", async () => {
  const empty = emptyMoments(2 * d); // no rows: means are NaN and the Cholesky pivot fails
  const bad: RidgeJob = { train: empty, val: empty, test: empty, trainVal: empty, d, pairs: [[0, 1]], alphas: [1] };
  const solo = await startRidgePool(1);
  try {
    // The one job goes to the worker before the main thread takes any.
    await assert.rejects(solo.runAll([bad], runRidgeJob), /ridge worker failed: .*not positive definite/);
    const first = solo.runAll([bad], () => []);
    await assert.rejects(solo.runAll([bad], runRidgeJob), /while another runAll is in progress/);
    await assert.rejects(first, /ridge worker failed/);
  } finally {
    await solo.close();
  }
});
