// Hyper-connections (Zhu et al., ICLR 2025), static or dynamic (DHC). Dynamic coefficients
// come from each stream's own normalised row: A(H) = A + s·tanh(H̄ W) (docs/model.md).
import { broadcastCopy } from '../../engine/ops/broadcast-copy.ts';
import { tf, type Tensor } from '../../engine/tf.ts';
import type { ModelConfig } from '../config.ts';
import { gainLayerNorm, rmsNorm } from '../norms.ts';
import { param, type Params } from '../params.ts';
import { type Coefficients, coefficientProjections } from './coefficients.ts';

export function hcCoefficients(p: Params, c: ModelConfig, prefix: string, H: Tensor): Coefficients {
  const conn = c.connection;
  if (conn.kind !== 'hc') throw new Error(`hcCoefficients called for ${conn.kind}`);
  const [B, T, n, d] = H.shape as [number, number, number, number];
  const staticAlpha = param(p, `${prefix}.static_alpha`); // [n, n+1]
  const staticBeta = param(p, `${prefix}.static_beta`); // [n]
  if (!conn.dynamic) {
    return {
      alpha: broadcastCopy(tf.reshape(staticAlpha, [1, 1, n, n + 1]), [B, T, n, n + 1]), // [B, T, n, n+1]
      write: broadcastCopy(tf.reshape(staticBeta, [1, 1, n]), [B, T, n]), // [B, T, n]
    };
  }
  const gamma = param(p, `${prefix}.norm.gamma`);
  const normed = tf.reshape(conn.dynamicNorm === 'rms' ? rmsNorm(H, gamma) : gainLayerNorm(H, gamma), [B * T * n, d]);
  const { wc, wb } = coefficientProjections(p, prefix, normed); // [B*T*n, n+1], [B*T*n, 1]
  const alpha = tf.add(tf.mul(tf.reshape(tf.tanh(wc), [B, T, n, n + 1]), param(p, `${prefix}.dynamic_alpha_scale`)), staticAlpha);
  const write = tf.add(tf.mul(tf.reshape(tf.tanh(wb), [B, T, n]), param(p, `${prefix}.dynamic_beta_scale`)), staticBeta);
  return { alpha, write }; // [B, T, n, n+1], [B, T, n]
}
