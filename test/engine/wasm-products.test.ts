// Products on our wasm kernels (src/engine/wasm/kernels.ts). tokenMix (src/engine/ops/token-mix.ts)
// against the batched matMul on the cpu backend, value and both gradients, for the widths the
// kernels take (multiples of 4) and one they leave to matMul.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initBackend } from '../../src/engine/backend.ts';
import { bmm, mm } from '../../src/engine/matmul.ts';
import { batchedKernelsFit } from '../../src/engine/ops/batched-matmul.ts';
import { geluOp } from '../../src/engine/ops/gelu.ts';
import { tokenMix } from '../../src/engine/ops/token-mix.ts';
import { type Tensor, tf } from '../../src/engine/tf.ts';
import { wasmKernelsActive } from '../../src/engine/wasm/tfjs-kernels.ts';

const shapes: [number, number, number, number][] = [
  [37, 4, 5, 128], // hc, n 4: [B·T, n, n+1] against [B·T, n, d]
  [5, 2, 4, 8], // Frac-like: [m, 2m]
  [3, 1, 2, 4],
  [4, 3, 3, 6], // d not a multiple of 4: matMul
];

const fill = (n: number, seed: number) => Array.from({ length: n }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * 0.9);

async function run(backend: 'cpu' | 'wasm', [R, s, o, d]: [number, number, number, number]) {
  await initBackend(backend);
  return tf.tidy(() => {
    const alpha = tf.tensor(fill(R * s * o, 1), [R, s, o]);
    const H = tf.tensor(fill(R * s * d, 2), [R, s, d]);
    const w = tf.tensor(fill(R * o * d, 3), [R, o, d]); // a loss Σ w·y gives dy = w
    const f = (a: Tensor, h: Tensor) => tf.sum(tf.mul(tokenMix(a, h), w));
    const y = tokenMix(alpha, H);
    const [da, dh] = tf.grads(f)([alpha, H]);
    return { y: y.dataSync(), da: (da as Tensor).dataSync(), dh: (dh as Tensor).dataSync(), kernels: wasmKernelsActive() };
  });
}

function close(got: ArrayLike<number>, want: ArrayLike<number>, what: string) {
  assert.equal(got.length, want.length, what);
  // float32 sums in another order: within 1e-5 of the largest entry
  let scale = 1e-6;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i] as number));
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs((got[i] as number) - (want[i] as number)) <= 1e-5 * scale, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
}

for (const shape of shapes) {
  test(`tokenMix on wasm equals the cpu matMul, value and gradients, [R, s, o, d] = [${shape}]`, async () => {
    const wasm = await run('wasm', shape);
    const cpu = await run('cpu', shape);
    assert.equal(wasm.kernels, true, 'the mix kernels are active on wasm');
    assert.equal(cpu.kernels, false);
    close(wasm.y, cpu.y, 'y');
    close(wasm.da, cpu.da, 'dα');
    close(wasm.dh, cpu.dh, 'dH');
  });
}

// The weight gradient of x W (matmul.ts: weightGrad on wasm): narrow W (c ≤ 8) as (gᵀx)ᵀ, a
// wider one on the blocked kernel, and one it does not take (transpose and product), against the
// cpu backend.
for (const [r, k, c] of [[2048, 128, 6], [37, 12, 1], [64, 32, 8], [64, 32, 16], [40, 16, 12]] as const) {
  test(`the weight gradient of x W on wasm equals the cpu backend's, x [${r}, ${k}], W [${k}, ${c}]`, async () => {
    const grads = async (backend: 'cpu' | 'wasm') => {
      await initBackend(backend);
      return tf.tidy(() => {
        // positive x and w: sums that do not cancel, so float32 rounding stays far below 1e-5
        const x = tf.tensor(fill(r * k, 4).map((v) => 0.55 + v / 2), [r, k]);
        const W = tf.tensor(fill(k * c, 5), [k, c]);
        const w = tf.tensor(fill(r * c, 6).map((v) => 0.55 + v / 2), [r, c]);
        const [dx, dW] = tf.grads((a: Tensor, b: Tensor) => tf.sum(tf.mul(tf.matMul(a, b), w)))([x, W]);
        return { dx: (dx as Tensor).dataSync(), dW: (dW as Tensor).dataSync() };
      });
    };
    const wasm = await grads('wasm');
    const cpu = await grads('cpu');
    close(wasm.dx, cpu.dx, 'dx');
    close(wasm.dW, cpu.dW, 'dW');
  });
}

// GELU (src/engine/ops/gelu.ts) on the wasm kernel against tfjs' erf composite on cpu: value and
// gradient over [-12, 12] (erf's tails, exp's clamp) and at ±0.
test('GELU on wasm equals the erf composite on cpu, value and gradient', async () => {
  const xs = [...Array.from({ length: 4800 }, (_, i) => -12 + i * 0.005), 0, -0, 1e-30, -1e-30, 40, -40, 90, -90];
  const run = async (backend: 'cpu' | 'wasm') => {
    await initBackend(backend);
    return tf.tidy(() => {
      const x = tf.tensor(xs);
      const w = tf.tensor(xs.map((_, i) => 1 + (i % 7) / 7));
      const dx = tf.grad((a: Tensor) => tf.sum(tf.mul(geluOp(a), w)))(x);
      return { y: geluOp(x).dataSync(), dx: dx.dataSync(), kernels: wasmKernelsActive() };
    });
  };
  const wasm = await run('wasm');
  const cpu = await run('cpu');
  assert.equal(wasm.kernels, true);
  for (let i = 0; i < xs.length; i++) {
    for (const [what, got, want] of [['y', wasm.y, cpu.y], ['dx', wasm.dx, cpu.dx]] as const) {
      const g = got[i] as number;
      const r = want[i] as number;
      assert.ok(Math.abs(g - r) <= 3e-7 * Math.max(1, Math.abs(r)), `${what}(${xs[i]}): ${g} vs ${r}`);
    }
  }
});

// Attention's batched products (src/engine/ops/batched-matmul.ts through matmul.ts' bmm): every
// transpose combination, value and both gradients, on wasm against tf.matMul on cpu; [16, 128, 32]
// runs the 4 × 8-blocked kernel throughout, the smaller shapes both kernels.
for (const [R, m, k, n] of [[16, 128, 32, 128], [3, 12, 20, 8], [2, 8, 4, 12]] as const) {
  for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
    test(`bmm on wasm equals the cpu matMul, [${R}, ${m}, ${k}] · [${R}, ${k}, ${n}], transposes ${ta}/${tb}`, async () => {
      const run = async (backend: 'cpu' | 'wasm') => {
        await initBackend(backend);
        return tf.tidy(() => {
          const a = tf.tensor(fill(R * m * k, 7).map((v) => 0.55 + v / 2), ta ? [R, k, m] : [R, m, k]);
          const b = tf.tensor(fill(R * k * n, 8).map((v) => 0.55 + v / 2), tb ? [R, n, k] : [R, k, n]);
          const w = tf.tensor(fill(R * m * n, 9).map((v) => 0.55 + v / 2), [R, m, n]);
          const f = (x: Tensor, y: Tensor) => tf.sum(tf.mul(bmm(x, y, ta, tb), w));
          const [da, db] = tf.grads(f)([a, b]);
          return { c: bmm(a, b, ta, tb).dataSync(), da: (da as Tensor).dataSync(), db: (db as Tensor).dataSync(), fits: batchedKernelsFit(a, b, ta, tb) };
        });
      };
      const wasm = await run('wasm');
      const cpu = await run('cpu');
      assert.equal(wasm.fits, true, 'the kernels take these shapes');
      close(wasm.c, cpu.c, 'C');
      close(wasm.da, cpu.da, 'dA');
      close(wasm.db, cpu.db, 'dB');
    });
  }
}

// A Linear's x Wᵀ (matmul.ts: mm(x, W, false, true) → linearProduct on wasm when the blocked
// kernel takes dW [out, in]; the last shape falls back), value and gradients against cpu.
for (const [r, inF, outF] of [[512, 128, 384], [37, 16, 12], [20, 12, 6]] as const) {
  test(`x Wᵀ on wasm equals the cpu backend's, x [${r}, ${inF}], W [${outF}, ${inF}]`, async () => {
    const run = async (backend: 'cpu' | 'wasm') => {
      await initBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor(fill(r * inF, 10).map((v) => 0.55 + v / 2), [r, inF]);
        const W = tf.tensor(fill(outF * inF, 11).map((v) => 0.55 + v / 2), [outF, inF]);
        const w = tf.tensor(fill(r * outF, 12).map((v) => 0.55 + v / 2), [r, outF]);
        const [dx, dW] = tf.grads((a: Tensor, b: Tensor) => tf.sum(tf.mul(mm(a, b, false, true), w)))([x, W]);
        return { y: mm(x, W, false, true).dataSync(), dx: (dx as Tensor).dataSync(), dW: (dW as Tensor).dataSync() };
      });
    };
    const wasm = await run('wasm');
    const cpu = await run('cpu');
    close(wasm.y, cpu.y, 'y');
    close(wasm.dx, cpu.dx, 'dx');
    close(wasm.dW, cpu.dW, 'dW');
  });
}
