// Applying a module's coefficients (HC paper, Algorithm 2): the width connection reads the
// branch input and mixes the streams in one product; the depth connection writes T(x) back.
import { tokenMix } from '../../engine/ops/token-mix.ts';
import { tf, type Tensor } from '../../engine/tf.ts';

/**
 * x = Σ_s A_m[s] H_s and H'_t = Σ_s A_r[s,t] H_s, as one per-token product αᵀH.
 * H: [B, T, n, d], alpha: [B, T, n, n+1].
 */
export function widthConnection(H: Tensor, alpha: Tensor): { branchIn: Tensor; mixed: Tensor } {
  const [B, T, n, d] = H.shape as [number, number, number, number];
  const out = tokenMix(tf.reshape(alpha, [B * T, n, n + 1]), tf.reshape(H, [B * T, n, d])); // [B*T, n+1, d]
  const branchIn = tf.reshape(tf.slice(out, [0, 0, 0], [-1, 1, -1]), [B, T, d]);
  const mixed = tf.reshape(tf.slice(out, [0, 1, 0], [-1, n, -1]), [B, T, n, d]);
  return { branchIn, mixed };
}

/** Ĥ_t = B[t] · T(x) + H'_t; y: [B, T, d], write: [B, T, n], mixed: [B, T, n, d]. */
export function depthConnection(mixed: Tensor, y: Tensor, write: Tensor): Tensor {
  const [B, T, n] = write.shape as [number, number, number];
  const d = y.shape[2] as number;
  return tf.add(mixed, tf.mul(tf.reshape(write, [B, T, n, 1]), tf.reshape(y, [B, T, 1, d]))); // [B, T, n, d]
}
