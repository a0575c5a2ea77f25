// Exact GELU, x Φ(x) = (x/2)(1 + erf(x/√2)), as the reference's MLP (nn.GELU()). On wasm one SIMD
// kernel forward and one backward (dx = dy (Φ(x) + x φ(x))) in place of tfjs' ten kernels over
// the [B·T, 4d] activation, whose Exp and Erf run scalar (≈ 3 and 2 ms each at 512 × 512).
import { type Tensor, tf } from '../tf.ts';
import { geluGradKernel, geluKernel, wasmKernelsActive } from '../wasm/tfjs-kernels.ts';

export function geluOp(x: Tensor): Tensor {
  if (!wasmKernelsActive() || x.dtype !== 'float32' || x.size % 4 !== 0) return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
  const f = tf.customGrad(((v: Tensor, save: (saved: Tensor[]) => void) => {
    save([v]);
    return { value: geluKernel(v), gradFunc: (dy: Tensor, saved: Tensor[]) => [geluGradKernel(saved[0] as Tensor, dy)] };
  }) as never) as (v: Tensor) => Tensor;
  return f(x);
}
