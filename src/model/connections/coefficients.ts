// What every connection module produces per token: the read weights A_m, the residual mixing
// A_r and the write weights B of docs/model.md, packed as the reference packs them.
import { tf, type Tensor } from '../../engine/tf.ts';
import { param, type Params } from '../params.ts';

export interface Coefficients {
  /** [A_m | A_r]: column 0 reads stream s into the branch, column 1+t mixes stream s into t. */
  alpha: Tensor; // [B, T, n, n+1]
  /** B: how much of the branch output each stream receives. */
  write: Tensor; // [B, T, n]
}

/**
 * Observes or replaces A_r's logits before the constraint (mhc: [B, T, n, n] entering Sinkhorn;
 * mhc-lite: [B, T, n!] entering the softmax); given only when the site is hooked.
 */
export type LogitsHook = (logits: Tensor) => Tensor;

/**
 * x W_α and x W_β of a dynamic module as one product with the two weights side by side, split
 * after: one pass over x forward and one transpose of it backward instead of two of each. x is
 * the normed token [B·T, n·d] (mhc, mhc-lite) or the normed stream rows [B·T·n, d] (hc, frac);
 * a 1-D W_β (hc, frac: [d]) is one column.
 */
export function coefficientProjections(p: Params, prefix: string, x: Tensor): { wc: Tensor; wb: Tensor } {
  const wAlpha = param(p, `${prefix}.dynamic_alpha_fn`); // [K, a]
  const wBeta = param(p, `${prefix}.dynamic_beta_fn`); // [K, b] or [K]
  const K = wAlpha.shape[0] as number;
  const betaCols = wBeta.rank === 1 ? 1 : (wBeta.shape[1] as number);
  const both = tf.matMul(x, tf.concat([wAlpha, tf.reshape(wBeta, [K, betaCols])], 1)); // [rows, a + b]
  const [wc, wb] = tf.split(both, [wAlpha.shape[1] as number, betaCols], 1) as [Tensor, Tensor];
  return { wc, wb };
}
