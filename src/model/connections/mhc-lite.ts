// mHC-lite (arXiv 2601.05732): the residual mixing is a convex combination of all n!
// permutation matrices, A_r = Σ_k softmax(a)_k P_k, hence exactly doubly stochastic (docs/model.md).
// After the two projections of the normed token, the coefficients are one engine op.
import { mhcLiteCoefficientsOp } from '../../engine/ops/mhc-lite-coefficients.ts';
import { tf, type Tensor } from '../../engine/tf.ts';
import type { ModelConfig } from '../config.ts';
import { param, type Params } from '../params.ts';
import { type Coefficients, coefficientProjections, type LogitsHook } from './coefficients.ts';
import { normedToken } from './mhc.ts';

/** `hookLogits` sees (and may replace) the permutation logits [B, T, n!] entering the softmax. */
export function mhcLiteCoefficients(p: Params, _c: ModelConfig, prefix: string, H: Tensor, hookLogits?: LogitsHook): Coefficients {
  const [B, T, n] = H.shape as [number, number, number, number];
  const { wc, wb } = coefficientProjections(p, prefix, normedToken(p, prefix, H)); // [B*T, n + n!], [B*T, n]
  const hook = hookLogits && ((a: Tensor) => tf.reshape(hookLogits(tf.reshape(a, [B, T, -1])), [B * T, -1]));
  const { alpha, write } = mhcLiteCoefficientsOp(n, wc, wb, {
    preBranchScale: param(p, `${prefix}.pre_branch_scale`),
    residualScale: param(p, `${prefix}.residual_scale`),
    hPostScale: param(p, `${prefix}.h_post_scale`),
    staticAlpha: param(p, `${prefix}.static_alpha`),
    staticBeta: param(p, `${prefix}.static_beta`),
  }, hook);
  return { alpha: tf.reshape(alpha, [B, T, n, n + 1]), write: tf.reshape(write, [B, T, n]) }; // [B, T, n, n+1], [B, T, n]
}
