// mHC-lite (arXiv 2601.05732): the residual mixing is a convex combination of all n!
// permutation matrices, A_r = Σ_k softmax(a)_k P_k, hence exactly doubly stochastic (SPEC §1.4).
// On webgpu everything after the two projections runs as one fused program (mhc-lite-webgpu.ts).
import { tf, type Tensor } from '../../engine/tf.ts';
import { fusedBackend } from '../../engine/webgpu-raw.ts';
import type { ModelConfig } from '../config.ts';
import { param, type Params } from '../params.ts';
import { factorial, permutationMatrices } from '../permutations.ts';
import type { Coefficients } from './coefficients.ts';
import { fusedMhcLiteTail } from './mhc-lite-webgpu.ts';
import { constrainedWrite, normedToken } from './mhc.ts';

export function mhcLiteCoefficients(p: Params, _c: ModelConfig, prefix: string, H: Tensor): Coefficients {
  const [B, T, n] = H.shape as [number, number, number, number];
  const nPerm = factorial(n);
  const v = normedToken(p, prefix, H);
  const wc = tf.matMul(v, param(p, `${prefix}.dynamic_alpha_fn`)); // [B*T, n + n!]
  const fused = fusedBackend();
  if (fused) {
    const { alpha, write } = fusedMhcLiteTail(fused, n, wc, tf.matMul(v, param(p, `${prefix}.dynamic_beta_fn`)), {
      preBranchScale: param(p, `${prefix}.pre_branch_scale`),
      residualScale: param(p, `${prefix}.residual_scale`),
      hPostScale: param(p, `${prefix}.h_post_scale`),
      staticAlpha: param(p, `${prefix}.static_alpha`),
      staticBeta: param(p, `${prefix}.static_beta`),
    });
    return { alpha: tf.reshape(alpha, [B, T, n, n + 1]), write: tf.reshape(write, [B, T, n]) };
  }
  const staticAlpha = param(p, `${prefix}.static_alpha`); // [n + n!]
  const readLogits = tf.add(
    tf.mul(tf.slice(wc, [0, 0], [-1, n]), param(p, `${prefix}.pre_branch_scale`)),
    tf.slice(staticAlpha, [0], [n]),
  ); // [B*T, n]
  const permLogits = tf.add(
    tf.mul(tf.slice(wc, [0, n], [-1, nPerm]), param(p, `${prefix}.residual_scale`)),
    tf.slice(staticAlpha, [n], [nPerm]),
  ); // [B*T, n!]
  const perms = tf.tensor(permutationMatrices(n), [nPerm, n * n]);
  const mixing = tf.reshape(tf.matMul(tf.softmax(permLogits, -1), perms), [B * T, n, n]); // [B*T, n, n]
  const read = tf.reshape(tf.sigmoid(readLogits), [B * T, n, 1]);
  return {
    alpha: tf.reshape(tf.concat([read, mixing], 2), [B, T, n, n + 1]),
    write: constrainedWrite(p, prefix, v, B, T, n),
  };
}
