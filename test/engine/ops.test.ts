// The model's engine ops on wasm and cpu (the fused webgpu programs are compared with these in
// test/model/webgpu-*.test.ts): known values of the norms and of mHC-lite's coefficients, and the
// embedding lookup's gradient, which wasm computes with its own scatter.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initBackend } from '../../src/engine/backend.ts';
import { embeddingLookup } from '../../src/engine/ops/embedding-lookup.ts';
import { mhcLiteCoefficientsOp } from '../../src/engine/ops/mhc-lite-coefficients.ts';
import { gainLayerNormOp, layerNormOp, rmsNormOp } from '../../src/engine/ops/norms.ts';
import { sinkhornOp } from '../../src/engine/ops/sinkhorn.ts';
import { type Tensor, tf } from '../../src/engine/tf.ts';
import { maxAbsDiff } from '../model/helpers.ts';

const close = (got: Tensor, want: number[], what: string, tol = 1e-6) => {
  const d = maxAbsDiff(got.dataSync(), want);
  assert.ok(d <= tol, `${what}: [${Array.from(got.dataSync())}] vs [${want}] (off by ${d})`);
};

// wasm first: the cpu backend turns on tfjs' IS_TEST leak check, which misreads wasm's kernels
// under a gradient tape.
for (const backend of ['wasm', 'cpu'] as const) {
  test(`${backend}: LayerNorm, gain LayerNorm and RMSNorm of known rows`, async () => {
    await initBackend(backend);
    tf.tidy(() => {
      // [1, 2, 3, 4]: μ 2.5, σ² 1.25; [0, 0, 0, 0] for RMSNorm's floor
      const x = tf.tensor2d([1, 2, 3, 4, 0, 0, 0, 0], [2, 4]);
      const r = 1 / Math.sqrt(1.25 + 1e-5);
      const z = [-1.5, -0.5, 0.5, 1.5].map((v) => v * r);
      const zeroRow = [0, 0, 0, 0];
      close(layerNormOp(x, tf.fill([4], 2), tf.fill([4], 1)), [...z.map((v) => 2 * v + 1), ...zeroRow.map(() => 1)], 'LayerNorm');
      close(layerNormOp(x, tf.fill([4], 2), undefined), [...z.map((v) => 2 * v), ...zeroRow], 'LayerNorm without bias');
      close(gainLayerNormOp(x, tf.fill([4], 0.5)), [...z.map((v) => 1.5 * v), ...zeroRow], 'gain LayerNorm');
      // x/‖x‖·√4·(γ+1), ‖[1,2,3,4]‖ = √30
      close(rmsNormOp(x, tf.fill([4], 1)), [...[1, 2, 3, 4].map((v) => (4 * v) / Math.sqrt(30)), ...zeroRow], 'RMSNorm');
      const g = tf.grad((a: Tensor) => tf.sum(rmsNormOp(a, tf.zeros([4]))))(x);
      assert.ok(Array.from(g.dataSync()).every(Number.isFinite), 'RMSNorm of a zero row has a finite gradient');
    });
  });

  test(`${backend}: embedding lookup and its gradient sum the rows of repeated ids`, async () => {
    await initBackend(backend);
    tf.tidy(() => {
      const wte = tf.tensor2d([0, 1, 10, 11, 20, 21], [3, 2]);
      const ids = tf.tensor2d([2, 0, 2, 2], [2, 2], 'int32');
      close(embeddingLookup(wte, ids), [20, 21, 0, 1, 20, 21, 20, 21], 'wte[ids]');
      // dy[i] = [i + 1, −(i + 1)]: id 2 at i = 0, 2, 3 gets [8, −8]; id 0 at i = 1 gets [2, −2]
      const dy = tf.tensor3d([1, -1, 2, -2, 3, -3, 4, -4], [2, 2, 2]);
      const g = tf.grad((w: Tensor) => tf.sum(tf.mul(embeddingLookup(w, ids), dy)))(wte);
      close(g, [2, -2, 0, 0, 8, -8], 'dL/dwte');
    });
  });

  test(`${backend}: mHC-lite's coefficients: σ read weights, doubly stochastic mixing, 2σ writes`, async () => {
    await initBackend(backend);
    tf.tidy(() => {
      const n = 3;
      const tokens = 5;
      const wc = tf.tensor2d(Array.from({ length: tokens * (n + 6) }, (_, i) => Math.sin(i)), [tokens, n + 6]);
      const wb = tf.tensor2d(Array.from({ length: tokens * n }, (_, i) => Math.cos(i)), [tokens, n]);
      const s = {
        preBranchScale: tf.tensor1d([0.5]),
        residualScale: tf.tensor1d([0.7]),
        hPostScale: tf.scalar(0.3),
        staticAlpha: tf.tensor1d([0.1, -0.2, 0.3, 1, -1, 0.5, 0, 0.2, -0.4]),
        staticBeta: tf.tensor1d([0.2, 0, -0.2]),
      };
      const { alpha, write } = mhcLiteCoefficientsOp(n, wc, wb, s);
      assert.deepEqual([alpha.shape, write.shape], [[tokens, n, n + 1], [tokens, n]]);
      const a = alpha.arraySync() as number[][][];
      const sig = (v: number) => 1 / (1 + Math.exp(-v));
      const wcv = wc.arraySync() as number[][];
      const wbv = wb.arraySync() as number[][];
      const sa = [0.1, -0.2, 0.3];
      const sb = [0.2, 0, -0.2];
      const reads = a.flatMap((t) => t.map((row) => row[0] as number));
      assert.ok(maxAbsDiff(reads, wcv.flatMap((row) => sa.map((b, i) => sig(0.5 * (row[i] as number) + b)))) < 1e-6, 'read weights');
      close(write, wbv.flatMap((row) => sb.map((b, i) => 2 * sig(0.3 * (row[i] as number) + b))), 'write weights');
      for (const t of a) {
        const m = t.map((row) => row.slice(1));
        const rows = m.map((row) => row.reduce((x, y) => x + y, 0));
        const cols = [0, 1, 2].map((j) => m.reduce((x, row) => x + (row[j] as number), 0));
        assert.ok(maxAbsDiff([...rows, ...cols], Array(2 * n).fill(1)) < 1e-6, `mixing sums: ${rows}, ${cols}`);
        assert.ok(m.flat().every((v) => v >= 0), 'mixing entries are non-negative');
      }
    });
  });
}

test('Sinkhorn: the wasm loops give the cpu backend\'s composite, value and gradient; rows sum to 1', async () => {
  for (const [n, iters] of [
    [4, 20],
    [3, 3],
  ] as const) {
    const N = 6;
    const run = async (backend: 'wasm' | 'cpu') => {
      await initBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor3d(Array.from({ length: N * n * n }, (_, i) => 3 * Math.sin(i * 0.9)), [N, n, n]);
        const w = tf.tensor3d(Array.from({ length: N * n * n }, (_, i) => Math.cos(i * 0.37)), [N, n, n]);
        const g = tf.grad((a: Tensor) => tf.sum(tf.mul(sinkhornOp(a, iters), w)))(x);
        return [sinkhornOp(x, iters), g].map((t) => Array.from(t.dataSync()));
      });
    };
    const wasm = await run('wasm');
    const cpu = await run('cpu');
    const dv = maxAbsDiff(wasm[0] as number[], cpu[0] as number[]);
    const dg = maxAbsDiff(wasm[1] as number[], cpu[1] as number[]);
    assert.ok(dv <= 1e-5 && dg <= 1e-4, `n ${n}, ${iters} iterations: value off by ${dv}, gradient by ${dg}`);
    const v = wasm[0] as number[];
    for (let row = 0; row < N * n; row++) {
      const s = v.slice(row * n, row * n + n).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(s - 1) < 1e-5, `row ${row} sums to ${s}`);
    }
  }
});
