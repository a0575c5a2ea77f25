// Matrix products that stay fast on every backend. tfjs-wasm runs matMul with transposeA/B
// 10-20x slower than a plain one (ENGINE-NOTES), so in 'explicit' mode transposes are
// materialised and BatchMatMul's gradient is re-registered to use plain products only.
import { tf, type Tensor } from './tf.ts';
import { batchedKernelsFit, batchedMatMul } from './ops/batched-matmul.ts';
import { mixNN, wasmKernelsActive } from './wasm/tfjs-kernels.ts';

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

/**
 * aᵀ g for 2-D a [r, k] and a narrow g [r, c] (c ≤ 8), the weight gradient of a projection to a
 * few columns (the HC coefficients' x W): on wasm one strided product (gᵀa)ᵀ that reads a in
 * place, instead of a transpose of a (1.5 ms for [2048, 128]) and a product; else undefined.
 */
function narrowWeightGrad(a: Tensor, g: Tensor): Tensor | undefined {
  const [r, k] = a.shape as [number, number];
  const c = g.shape[1] as number;
  if (a.rank !== 2 || g.rank !== 2 || c > 8 || k % 4 !== 0 || a.dtype !== 'float32' || g.dtype !== 'float32' || !wasmKernelsActive()) return undefined;
  return tf.tidy(() => tf.transpose(tf.reshape(mixNN(g, tf.reshape(a, [1, r, k]), c, { rsA: 1, csA: c, bsA: 0 }), [c, k])));
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
        if (!transposeA && !transposeB) return { a: () => P(g, swapLast(b)), b: () => narrowWeightGrad(a, g) ?? P(swapLast(a), g) };
        if (!transposeA && transposeB) return { a: () => P(g, b), b: () => P(swapLast(g), a) };
        if (transposeA && !transposeB) return { a: () => P(b, swapLast(g)), b: () => P(a, g) };
        return { a: () => P(swapLast(b), swapLast(g)), b: () => P(swapLast(g), swapLast(a)) };
      },
    });
  } finally {
    console.warn = warn;
  }
}
