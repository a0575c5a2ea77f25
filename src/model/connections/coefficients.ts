// What every connection module produces per token: the read weights A_m, the residual mixing
// A_r and the write weights B of docs/model.md, packed as the reference packs them.
import type { Tensor } from '../../engine/tf.ts';

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
