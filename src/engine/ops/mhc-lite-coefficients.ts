// mHC-lite's coefficients from the two projections of the normed token, as one op (arXiv
// 2601.05732, docs/model.md): the fused WGSL program of webgpu-mhc-lite.ts when the fused webgpu
// backend is active, the tfjs composite below otherwise, the same formulas in the same order.
import { constant } from '../constants.ts';
import { factorial, permutationMatrices } from '../permutations.ts';
import { tf, type Tensor } from '../tf.ts';
import { fusedMhcLiteCoefficients } from '../webgpu-mhc-lite.ts';
import { fusedBackend } from '../webgpu-raw.ts';

/** The module's five small parameters, as the reference names them. */
export interface MhcLiteScales {
  preBranchScale: Tensor; // [1]
  residualScale: Tensor; // [1]
  hPostScale: Tensor; // []
  staticAlpha: Tensor; // [n + n!]: read logits, then permutation logits (identity first)
  staticBeta: Tensor; // [n]
}

/** All n! permutation matrices, row-major [n!, n·n], uploaded once per backend. */
function permutationTensor(n: number): Tensor {
  return constant(`mhc-lite.permutations.${n}`, () => tf.tensor(permutationMatrices(n), [factorial(n), n * n]));
}

/**
 * A_m = σ(pre · wc[:, :n] + a[:n]), A_r = Σ_k softmax(res · wc[:, n:] + a[n:])_k P_k (exactly doubly
 * stochastic) and B = 2σ(h_post · wb + b), from wc = v·W_α [tokens, n + n!], wb = v·W_β [tokens, n].
 * Returns alpha = [A_m | A_r] [tokens, n, n+1] and write = B [tokens, n]. `hookPermLogits`, given
 * only when a hook wants them, sees (and may replace) the permutation logits [tokens, n!]; it
 * takes the composite path, since the fused program never materialises them.
 */
export function mhcLiteCoefficientsOp(
  n: number,
  wc: Tensor,
  wb: Tensor,
  s: MhcLiteScales,
  hookPermLogits?: (logits: Tensor) => Tensor,
): { alpha: Tensor; write: Tensor } {
  const gpu = hookPermLogits ? undefined : fusedBackend();
  if (gpu) return fusedMhcLiteCoefficients(gpu, n, wc, wb, [s.preBranchScale, s.residualScale, s.hPostScale, s.staticAlpha, s.staticBeta]);
  const tokens = wb.shape[0] as number;
  const nPerm = factorial(n);
  const readLogits = tf.add(tf.mul(tf.slice(wc, [0, 0], [-1, n]), s.preBranchScale), tf.slice(s.staticAlpha, [0], [n])); // [tokens, n]
  const raw = tf.add(tf.mul(tf.slice(wc, [0, n], [-1, nPerm]), s.residualScale), tf.slice(s.staticAlpha, [n], [nPerm])); // [tokens, n!]
  const permLogits = hookPermLogits ? hookPermLogits(raw) : raw;
  const mixing = tf.reshape(tf.matMul(tf.softmax(permLogits, -1), permutationTensor(n)), [tokens, n, n]); // [tokens, n, n]
  const read = tf.reshape(tf.sigmoid(readLogits), [tokens, n, 1]); // [tokens, n, 1]
  const write = tf.mul(tf.sigmoid(tf.add(tf.mul(wb, s.hPostScale), s.staticBeta)), 2); // [tokens, n]
  return { alpha: tf.concat([read, mixing], 2), write };
}
