// Frac-connections (Zhu et al. 2025, arXiv 2503.14125): the hidden state h ∈ R^d split into m
// fractions H ∈ R^{m×d/m} that play HC's streams (docs/model.md). With FC = [[0, β], [Γ, A]]:
//   x = concat_j Σ_s Γ[s,j] H_s,  H'_t = Σ_s A[s,t] H_s + β_t · T(x)_t   (T(x) split like h).
// Static, or dynamic as DHC: Γ, A, β + s·tanh(H̄ W) from each fraction's own normalised row.
import { tokenMix } from '../../engine/ops/token-mix.ts';
import { broadcastCopy } from '../../engine/ops/broadcast-copy.ts';
import { tf, type Tensor } from '../../engine/tf.ts';
import { attentionBranch, mlpBranch } from '../branches.ts';
import type { ModelConfig } from '../config.ts';
import type { Sublayer } from '../hooks.ts';
import { gainLayerNorm, rmsNorm } from '../norms.ts';
import { modulePrefix, param, type Params } from '../params.ts';
import { coefficientProjections } from './coefficients.ts';
import type { SiteHook } from './site-hook.ts';

export interface FracCoefficients {
  /** [Γ | A]: column j < m reads fraction s into input slot j, column m + t mixes s into t. */
  alpha: Tensor; // [B, T, m, 2m]
  /** β: how much of output fraction t its stream receives. */
  write: Tensor; // [B, T, m]
}

export function fracCoefficients(p: Params, c: ModelConfig, prefix: string, H: Tensor): FracCoefficients {
  const conn = c.connection;
  if (conn.kind !== 'frac') throw new Error(`fracCoefficients called for ${conn.kind}`);
  const [B, T, m, w] = H.shape as [number, number, number, number];
  const staticAlpha = param(p, `${prefix}.static_alpha`); // [m, 2m]
  const staticBeta = param(p, `${prefix}.static_beta`); // [m]
  if (!conn.dynamic) {
    return {
      alpha: broadcastCopy(tf.reshape(staticAlpha, [1, 1, m, 2 * m]), [B, T, m, 2 * m]), // [B, T, m, 2m]
      write: broadcastCopy(tf.reshape(staticBeta, [1, 1, m]), [B, T, m]), // [B, T, m]
    };
  }
  const gamma = param(p, `${prefix}.norm.gamma`); // [w]
  const normed = tf.reshape(conn.dynamicNorm === 'rms' ? rmsNorm(H, gamma) : gainLayerNorm(H, gamma), [B * T * m, w]); // [B*T*m, w]
  const { wc, wb } = coefficientProjections(p, prefix, normed); // [B*T*m, 2m], [B*T*m, 1]
  const alpha = tf.add(tf.mul(tf.reshape(tf.tanh(wc), [B, T, m, 2 * m]), param(p, `${prefix}.dynamic_alpha_scale`)), staticAlpha); // [B, T, m, 2m]
  const write = tf.add(tf.mul(tf.reshape(tf.tanh(wb), [B, T, m]), param(p, `${prefix}.dynamic_beta_scale`)), staticBeta); // [B, T, m]
  return { alpha, write };
}

/** Exposes Γ (read, [B, T, m, m]), A (mixing) and β (write); alpha is split only when hooked. */
function hooked(k: FracCoefficients, layer: number, module: Sublayer, at: SiteHook): FracCoefficients {
  const write = at({ kind: 'write', layer, module }, k.write); // [B, T, m]
  const readSite = { kind: 'read', layer, module } as const;
  const mixingSite = { kind: 'mixing', layer, module } as const;
  if (!at.hooked(readSite) && !at.hooked(mixingSite)) return { alpha: k.alpha, write };
  const m = k.write.shape[2] as number;
  const read = tf.slice(k.alpha, [0, 0, 0, 0], [-1, -1, -1, m]); // [B, T, m, m]: Γ[s, j]
  const mixing = tf.slice(k.alpha, [0, 0, 0, m], [-1, -1, -1, m]); // [B, T, m, m]: A[s, t]
  const [readOut, mixingOut] = [at(readSite, read), at(mixingSite, mixing)];
  if (readOut === read && mixingOut === mixing) return { alpha: k.alpha, write }; // observed only
  return { alpha: tf.concat([readOut, mixingOut], 3), write }; // [B, T, m, 2m]
}

/** H: [B, T, m, d/m] → [B, T, m, d/m]. */
export function fracModule(p: Params, c: ModelConfig, layer: number, module: Sublayer, H: Tensor, at: SiteHook): Tensor {
  const [B, T, m, w] = H.shape as [number, number, number, number];
  const k = hooked(fracCoefficients(p, c, modulePrefix(layer, module), H), layer, module, at);
  const out = tokenMix(tf.reshape(k.alpha, [B * T, m, 2 * m]), tf.reshape(H, [B * T, m, w])); // [B*T, 2m, w]
  const branchIn = tf.reshape(tf.slice(out, [0, 0, 0], [-1, m, -1]), [B, T, m * w]); // [B, T, d]
  const mixed = tf.reshape(tf.slice(out, [0, m, 0], [-1, m, -1]), [B, T, m, w]); // [B, T, m, w]
  const x = at({ kind: 'branch_in', layer, module }, branchIn); // [B, T, d]
  const y = at({ kind: 'branch_out', layer, module }, (module === 'attn' ? attentionBranch : mlpBranch)(p, c, layer, x)); // [B, T, d]
  return tf.add(mixed, tf.mul(tf.reshape(k.write, [B, T, m, 1]), tf.reshape(y, [B, T, m, w]))); // [B, T, m, w]
}
