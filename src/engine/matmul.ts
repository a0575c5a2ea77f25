// Matrix products that stay fast on every backend. tfjs-wasm runs matMul with transposeA/B
// 10-20x slower than a plain one (ENGINE-NOTES), so in 'explicit' mode transposes are
// materialised and BatchMatMul's gradient is re-registered to use plain products only.
import { tf, type Tensor } from './tf.ts';
import { batchedKernelsFit, batchedMatMul, batchedProduct } from './ops/batched-matmul.ts';
import { wasmKernelsActive } from './wasm/tfjs-kernels.ts';

export type MatmulMode = 'native' | 'explicit';

let mode: MatmulMode = 'native';

/** Swaps the last two axes. */
export function swapLast(x: Tensor): Tensor {
  const perm = [...Array(x.rank).keys()];
  perm[x.rank - 2] = x.rank - 1;
  perm[x.rank - 1] = x.rank - 2;
  return tf.transpose(x, perm);
}

/** a @ b with optional transposes; operands must share batch dims (no broadcasting). */
export function mm(a: Tensor, b: Tensor, transposeA = false, transposeB = false): Tensor {
  if (mode === 'explicit' && !transposeA && transposeB && linearFits(a, b)) return linearProduct(a, b);
  if (mode === 'explicit' && (transposeA || transposeB)) {
    return tf.matMul(transposeA ? swapLast(a) : a, transposeB ? swapLast(b) : b);
  }
  return tf.matMul(a, b, transposeA, transposeB);
}

/**
 * Batched product of rank-3 operands [batch, m, k] @ [batch, k, n]. tfjs-wasm's batched kernel
 * runs ~6x slower than separate 2-D products (measured: 12 ms against 1.8 ms for 32 products of
 * [128,128]@[128,32]), so in 'explicit' mode it runs on our kernels (ops/batched-matmul.ts)
 * or, for shapes they do not take, the batch is unstacked; autodiff goes through unstack/stack.
 */
export function bmm(a: Tensor, b: Tensor, transposeA = false, transposeB = false): Tensor {
  if (mode !== 'explicit') return tf.matMul(a, b, transposeA, transposeB);
  if (batchedKernelsFit(a, b, transposeA, transposeB)) return batchedMatMul(a, b, transposeA, transposeB);
  const as = tf.unstack(transposeA ? swapLast(a) : a);
  const bs = tf.unstack(transposeB ? swapLast(b) : b);
  return tf.stack(as.map((x, i) => tf.matMul(x, bs[i] as Tensor)));
}

/** Whether the wasm kernels' blocked product takes an output of m rows and n columns. */
function blockedFits(m: number, n: number): boolean {
  return wasmKernelsActive() && m % 4 === 0 && n % 8 === 0;
}

/** op(x) · y on the wasm kernels, op(x) = x or xᵀ read through strides; x, y 2-D float32. */
function stridedProduct(x: Tensor, transposeX: boolean, y: Tensor): Tensor {
  const m = x.shape[transposeX ? 1 : 0] as number;
  const one = (t: Tensor) => tf.reshape(t, [1, ...(t.shape as [number, number])]);
  return tf.reshape(batchedProduct(one(x), transposeX, one(y), false), [m, y.shape[1] as number]);
}

/** Whether a Linear's x Wᵀ runs as linearProduct: 2-D float32, dW [out, in] on the blocked kernel. */
function linearFits(x: Tensor, W: Tensor): boolean {
  return x.rank === 2 && W.rank === 2 && x.dtype === 'float32' && W.dtype === 'float32' && blockedFits(W.shape[0] as number, x.shape[1] as number);
}

/**
 * aᵀ g for 2-D a [r, k] and g [r, c], a weight gradient, on wasm without materialising aᵀ
 * (tfjs' Transpose: 1.5 ms for [2048, 128]): for a narrow g (c ≤ 8, the HC coefficients' x W) as
 * (gᵀa)ᵀ, else on the blocked kernel when it takes [k, c]; undefined when neither applies.
 */
function weightGrad(a: Tensor, g: Tensor): Tensor | undefined {
  if (a.rank !== 2 || g.rank !== 2 || a.dtype !== 'float32' || g.dtype !== 'float32' || !wasmKernelsActive()) return undefined;
  const k = a.shape[1] as number;
  const c = g.shape[1] as number;
  if (c <= 8 && k % 4 === 0) return tf.tidy(() => tf.transpose(stridedProduct(g, true, a)));
  return blockedFits(k, c) ? stridedProduct(a, true, g) : undefined;
}

/**
 * x Wᵀ for a PyTorch Linear's W [out, in] on wasm: forward the plain product with Wᵀ (a small
 * transpose of the weight); backward dx = g W and dW = gᵀ x on our kernels, x read through
 * strides, so no activation is transposed (the explicit mode's generic path transposes W, then W
 * again and x in the backward). dx must not be tf.matMul(g, W): XNNPACK caches its packing of the
 * right operand by tensor id, and AdamW updates W in place under the same id, so a later step
 * would multiply by stale weights.
 */
function linearProduct(x: Tensor, W: Tensor): Tensor {
  const f = tf.customGrad(((a: Tensor, w: Tensor, save: (saved: Tensor[]) => void) => {
    save([a, w]);
    return {
      value: tf.matMul(a, swapLast(w)),
      gradFunc: (g: Tensor, saved: Tensor[]) => {
        const [sa, sw] = saved as [Tensor, Tensor];
        return [stridedProduct(g, false, sw), stridedProduct(g, true, sa)];
      },
    };
  }) as never) as (a: Tensor, w: Tensor) => Tensor;
  return f(x, W);
}

export function setMatmulMode(next: MatmulMode): void {
  mode = next;
  if (next !== 'explicit') return;
  const warn = console.warn;
  console.warn = () => {}; // tfjs warns when a gradient is overridden; that is the point here
  try {
    tf.registerGradient({
      kernelName: 'BatchMatMul',
      inputsToSave: ['a', 'b'],
      gradFunc: (dy, saved, attrs) => {
        const [a, b] = saved as [Tensor, Tensor];
        const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
        const g = dy as Tensor;
        const P = (x: Tensor, y: Tensor) => tf.matMul(x, y);
        if (!transposeA && !transposeB) return { a: () => P(g, swapLast(b)), b: () => weightGrad(a, g) ?? P(swapLast(a), g) };
        if (!transposeA && transposeB) return { a: () => P(g, b), b: () => P(swapLast(g), a) };
        if (transposeA && !transposeB) return { a: () => P(b, swapLast(g)), b: () => P(a, g) };
        return { a: () => P(swapLast(b), swapLast(g)), b: () => P(swapLast(g), swapLast(a)) };
      },
    });
  } finally {
    console.warn = warn;
  }
}
