// The norms on the wasm kernels (src/engine/ops/norms.ts → wasm/kernels.ts) against the tfjs
// composites on cpu: LayerNorm with and without bias, the (γ+1)-gain LayerNorm and RMSNorm, value
// and the gradients of x, the gain and the bias, including an all-zero row (RMSNorm's floor).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initBackend } from '../../src/engine/backend.ts';
import { gainLayerNormOp, layerNormOp, rmsNormOp } from '../../src/engine/ops/norms.ts';
import { type Tensor, tf } from '../../src/engine/tf.ts';
import { wasmKernelsActive } from '../../src/engine/wasm/tfjs-kernels.ts';

const fill = (n: number, seed: number) => Array.from({ length: n }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * 1.7 + (i % 5) * 0.1);

type Norm = { name: string; inputs: number; run: (x: Tensor, w: Tensor, b: Tensor) => Tensor };
const NORMS: Norm[] = [
  { name: 'LayerNorm with bias', inputs: 3, run: (x, w, b) => layerNormOp(x, w, b) },
  { name: 'LayerNorm without bias', inputs: 2, run: (x, w) => layerNormOp(x, w, undefined) },
  { name: 'gain LayerNorm', inputs: 2, run: (x, w) => gainLayerNormOp(x, w) },
  { name: 'RMSNorm', inputs: 2, run: (x, w) => rmsNormOp(x, w) },
];

for (const shape of [[37, 128], [2, 3, 8]]) {
  for (const norm of NORMS) {
    test(`${norm.name} on wasm equals the cpu composite, x [${shape}], value and gradients`, async () => {
      const D = shape[shape.length - 1] as number;
      const size = shape.reduce((a, s) => a * s, 1);
      const run = async (backend: 'cpu' | 'wasm') => {
        await initBackend(backend);
        return tf.tidy(() => {
          const xs = fill(size, 1);
          xs.fill(0, D, 2 * D); // row 1 is zero
          const x = tf.tensor(xs, shape);
          const w = tf.tensor(fill(D, 2), [D]);
          const b = tf.tensor(fill(D, 3), [D]);
          const u = tf.tensor(fill(size, 4), shape);
          const f = (...xs: Tensor[]) => tf.sum(tf.mul(norm.run(xs[0] as Tensor, xs[1] as Tensor, (xs[2] ?? b) as Tensor), u));
          const grads = tf.grads(f)([x, w, b].slice(0, norm.inputs));
          return { kernels: wasmKernelsActive(), values: [norm.run(x, w, b), ...grads].map((t) => t.dataSync()) };
        });
      };
      const wasm = await run('wasm');
      const cpu = await run('cpu');
      assert.equal(wasm.kernels, true);
      ['y', 'dx', 'dw', 'db'].slice(0, cpu.values.length).forEach((what, i) => {
        const got = wasm.values[i] as ArrayLike<number>;
        const want = cpu.values[i] as ArrayLike<number>;
        // row by row: the zero row's dx is ~1e13 (RMSNorm's floor), which would hide every other row
        for (let row = 0; row < want.length; row += D) {
          let scale = 1e-6;
          for (let j = row; j < row + D; j++) scale = Math.max(scale, Math.abs(want[j] as number));
          for (let j = row; j < row + D; j++) assert.ok(Math.abs((got[j] as number) - (want[j] as number)) <= 2e-6 * scale, `${what}[${j}]: ${got[j]} vs ${want[j]}`);
        }
      });
    });
  }
}
