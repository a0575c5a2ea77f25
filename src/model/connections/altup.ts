// AltUp (Baykal et al., NeurIPS 2023, arXiv 2301.13310): K sub-blocks of width d; block l computes
// only sub-block j* = l mod K ("alternating") and predicts, then corrects, the others:
//   x̂_i = Σ_j p[i,j] x_j,  x̃ = L(x̂_{j*}),  x_i ← x̂_i + g_i (x̃ − x̂_{j*})   (docs/model.md).
import { tf, type Tensor } from '../../engine/tf.ts';
import { attentionBranch, mlpBranch } from '../branches.ts';
import type { ModelConfig } from '../config.ts';
import { altupPrefix, param, type Params } from '../params.ts';
import type { SiteHook } from './site-hook.ts';

/** The sub-block that block `layer` computes. */
export function activeBlock(layer: number, K: number): number {
  return layer % K;
}

/** x̂ = P x per token; H: [B, T, K, d], P: [K, K] → [B, T, K, d]. */
export function predict(H: Tensor, P: Tensor): Tensor {
  const [B, T, K, d] = H.shape as [number, number, number, number];
  const flat = tf.reshape(tf.transpose(H, [2, 0, 1, 3]), [K, B * T * d]); // [K, B*T*d]
  return tf.transpose(tf.reshape(tf.matMul(P, flat), [K, B, T, d]), [1, 2, 0, 3]); // [B, T, K, d]
}

/**
 * One AltUp block around the Pre-Norm layer L(x) = x' + MLP(x'), x' = x + Attn(x). resid_mid is
 * x̂ with the computed sub-block after its attention; the other sub-blocks of a hooked resid_mid
 * carry into the correction. H: [B, T, K, d] → [B, T, K, d].
 */
export function altupBlock(p: Params, c: ModelConfig, layer: number, H: Tensor, at: SiteHook): Tensor {
  const K = H.shape[2] as number;
  const j = activeBlock(layer, K);
  const pre = altupPrefix(layer);
  const predicted = predict(H, param(p, `${pre}.prediction_coefs`)); // [B, T, K, d]
  const blocks = tf.unstack(predicted, 2); // K × [B, T, d]
  const xj = blocks[j] as Tensor; // [B, T, d]: x̂_{j*}
  const aIn = at({ kind: 'branch_in', layer, module: 'attn' }, xj); // [B, T, d]
  const aOut = at({ kind: 'branch_out', layer, module: 'attn' }, attentionBranch(p, c, layer, aIn)); // [B, T, d]
  blocks[j] = tf.add(aIn, aOut);
  const mid = tf.unstack(at({ kind: 'resid_mid', layer }, tf.stack(blocks, 2)), 2); // K × [B, T, d]
  const mIn = at({ kind: 'branch_in', layer, module: 'mlp' }, mid[j] as Tensor); // [B, T, d]
  const mOut = at({ kind: 'branch_out', layer, module: 'mlp' }, mlpBranch(p, c, layer, mIn)); // [B, T, d]
  const delta = tf.sub(tf.add(mIn, mOut), xj); // [B, T, d]: x̃ − x̂_{j*}
  const g = tf.unstack(param(p, `${pre}.correction_coefs`)); // K × []
  const out = mid.map((m, i) => tf.add(i === j ? xj : m, tf.mul(delta, g[i] as Tensor))); // K × [B, T, d]
  return tf.stack(out, 2); // [B, T, K, d]
}
