// Batched products op(a)·op(b) of rank-3 operands on the wasm kernels (attention's q·kᵀ and P·v
// and their gradients): one kernel call for the whole batch, op(a) read through strides (a
// transpose costs nothing), op(b) materialised when transposed. tfjs-wasm runs batched products
// ~6× slower than 2-D ones, so without these the batch is unstacked into per-head products.
import { type Tensor, tf } from '../tf.ts';
import { mixNN, wasmKernelsActive } from '../wasm/tfjs-kernels.ts';

/**
 * op(x)·op(y) on the kernels, without a gradient, for x [R, ·, ·] and y [R, ·, ·]: op(x) read
 * through strides, op(y) materialised when transposed. The columns of op(y) must be a multiple of 4.
 */
export function batchedProduct(x: Tensor, tx: boolean, y: Tensor, ty: boolean): Tensor {
  const [, r0, r1] = x.shape as [number, number, number];
  const strides = tx ? { rsA: 1, csA: r1, bsA: r0 * r1 } : { rsA: r1, csA: 1, bsA: r0 * r1 };
  return mixNN(x, ty ? tf.transpose(y, [0, 2, 1]) : y, tx ? r1 : r0, strides);
}

/** Whether batchedMatMul runs on the kernels for these operands (else the caller's fallback). */
export function batchedKernelsFit(a: Tensor, b: Tensor, transposeA: boolean, transposeB: boolean): boolean {
  if (!wasmKernelsActive() || a.rank !== 3 || b.rank !== 3 || a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape[0] !== b.shape[0]) return false;
  const m = a.shape[transposeA ? 2 : 1] as number;
  const k = a.shape[transposeA ? 1 : 2] as number;
  const n = b.shape[transposeB ? 1 : 2] as number;
  return k === b.shape[transposeB ? 2 : 1] && m % 4 === 0 && k % 4 === 0 && n % 4 === 0;
}

/** op(a)·op(b) with its gradient (d op(a) = dC·op(b)ᵀ, d op(b) = op(a)ᵀ·dC); check batchedKernelsFit first. */
export function batchedMatMul(a: Tensor, b: Tensor, transposeA: boolean, transposeB: boolean): Tensor {
  const f = tf.customGrad(((x: Tensor, y: Tensor, save: (saved: Tensor[]) => void) => {
    save([x, y]);
    return {
      value: batchedProduct(x, transposeA, y, transposeB),
      gradFunc: (dc: Tensor, saved: Tensor[]) => {
        const [sx, sy] = saved as [Tensor, Tensor];
        const dx = transposeA ? batchedProduct(sy, transposeB, dc, true) : batchedProduct(dc, false, sy, !transposeB);
        const dy = transposeB ? batchedProduct(dc, true, sx, transposeA) : batchedProduct(sx, !transposeA, dc, false);
        return [dx, dy];
      },
    };
  }) as never) as (x: Tensor, y: Tensor) => Tensor;
  return f(a, b);
}
