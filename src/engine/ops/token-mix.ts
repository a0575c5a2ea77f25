// αᵀH for every token: the product of a hyper-connection's width connection (and Frac's), one
// tiny [s, o] matrix per row against that row's [s, d] block. On wasm it runs on the SIMD mix
// kernels with its own gradient (dα = H·dyᵀ, dH = α·dy per row); elsewhere, and for widths not a
// multiple of 4, it is the batched matMul.
import { mm } from '../matmul.ts';
import { type Tensor, tf } from '../tf.ts';
import { mixNT, wasmKernelsActive } from '../wasm/tfjs-kernels.ts';
import { batchedProduct } from './batched-matmul.ts';

/** alpha [R, s, o], H [R, s, d] → [R, o, d] with out[r] = alpha[r]ᵀ · H[r]. */
export function tokenMix(alpha: Tensor, H: Tensor): Tensor {
  const d = H.shape[2] as number;
  if (!wasmKernelsActive() || d % 4 !== 0 || alpha.dtype !== 'float32' || H.dtype !== 'float32') return mm(alpha, H, true, false);
  const f = tf.customGrad(((a: Tensor, h: Tensor, save: (saved: Tensor[]) => void) => {
    save([a, h]);
    return {
      value: batchedProduct(a, true, h, false),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [sa, sh] = saved as [Tensor, Tensor];
        return [mixNT(sh, dy), batchedProduct(sa, false, dy, false)];
      },
    };
  }) as never) as (a: Tensor, h: Tensor) => Tensor;
  return f(alpha, H);
}
