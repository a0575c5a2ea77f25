// Manifold-constrained HC (arXiv 2512.24880): coefficients from the whole RMS-normalised token
// v ∈ R^{nd}; A_m = σ(·), B = 2σ(·), A_r = Sinkhorn(exp(R)) in log space (docs/model.md).
import { sinkhornOp } from '../../engine/ops/sinkhorn.ts';
import { tf, type Tensor } from '../../engine/tf.ts';
import type { ModelConfig } from '../config.ts';
import { rmsNorm } from '../norms.ts';
import { param, type Params } from '../params.ts';
import { type Coefficients, coefficientProjections, type LogitsHook } from './coefficients.ts';

/** The token flattened over streams and RMS-normalised with its learned gain. */
export function normedToken(p: Params, prefix: string, H: Tensor): Tensor {
  const [B, T, n, d] = H.shape as [number, number, number, number];
  return rmsNorm(tf.reshape(H, [B * T, n * d]), param(p, `${prefix}.norm.gamma`)); // [B*T, n*d]
}

/** B = 2σ(s·(v W_β) + b) from wb = v W_β, shared by mHC and mHC-lite. */
export function constrainedWrite(p: Params, prefix: string, wb: Tensor, B: number, T: number, n: number): Tensor {
  const raw = tf.mul(wb, param(p, `${prefix}.h_post_scale`)); // [B*T, n]
  return tf.reshape(tf.mul(tf.sigmoid(tf.add(raw, param(p, `${prefix}.static_beta`))), 2), [B, T, n]);
}

/** `hookLogits` sees (and may replace) R [B, T, n, n], the matrix whose exp Sinkhorn projects. */
export function mhcCoefficients(p: Params, c: ModelConfig, prefix: string, H: Tensor, hookLogits?: LogitsHook): Coefficients {
  const conn = c.connection;
  if (conn.kind !== 'mhc') throw new Error(`mhcCoefficients called for ${conn.kind}`);
  const [B, T, n] = H.shape as [number, number, number, number];
  const projected = coefficientProjections(p, prefix, normedToken(p, prefix, H));
  const wc = tf.reshape(projected.wc, [B * T, n, n + 1]);
  // Column 0 (read) scales by pre_branch_scale, the n mixing columns by residual_scale.
  const scale = tf.concat([param(p, `${prefix}.pre_branch_scale`), tf.tile(param(p, `${prefix}.residual_scale`), [n])]); // [n+1]
  const logits = tf.add(tf.mul(wc, scale), param(p, `${prefix}.static_alpha`)); // [B*T, n, n+1]
  const read = tf.sigmoid(tf.slice(logits, [0, 0, 0], [-1, -1, 1])); // [B*T, n, 1]
  let r = tf.slice(logits, [0, 0, 1], [-1, -1, n]); // [B*T, n, n]: R[s][t], before the constraint
  if (hookLogits) r = tf.reshape(hookLogits(tf.reshape(r, [B, T, n, n])), [B * T, n, n]);
  const mixing = sinkhornOp(r, conn.sinkhornIters); // [B*T, n, n]
  return {
    alpha: tf.reshape(tf.concat([read, mixing], 2), [B, T, n, n + 1]),
    write: constrainedWrite(p, prefix, projected.wb, B, T, n),
  };
}
