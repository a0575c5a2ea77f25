// Post-Norm (Vaswani et al. 2017; the HC paper's n = 1, fixed-weight baseline): h ← LN(h + T'(h)),
// where T' is the sublayer without its own LayerNorm and LN is that same `.0` norm (docs/model.md).
import { tf, type Tensor } from '../../engine/tf.ts';
import { attentionBranch, mlpBranch } from '../branches.ts';
import type { ModelConfig } from '../config.ts';
import type { Sublayer } from '../hooks.ts';
import { layerNorm } from '../norms.ts';
import { branchPrefix, param, type Params } from '../params.ts';
import type { SiteHook } from './site-hook.ts';

/** T'(x) of module (layer, module), without its pre-norm; x: [B, T, d] → [B, T, d]. */
export function bareBranch(p: Params, c: ModelConfig, layer: number, module: Sublayer, x: Tensor): Tensor {
  return (module === 'attn' ? attentionBranch : mlpBranch)(p, c, layer, x, false); // [B, T, d]
}

/** LN(x + y) with the module's `.0` LayerNorm, the norm Pre-Norm applies to the branch input. */
export function postNorm(p: Params, layer: number, module: Sublayer, x: Tensor, y: Tensor): Tensor {
  const pre = branchPrefix(layer, module);
  return layerNorm(tf.add(x, y), param(p, `${pre}.0.weight`), p.get(`${pre}.0.bias`)); // [B, T, d]
}

/** H: [B, T, 1, d] → [B, T, 1, d]. */
export function postNormModule(p: Params, c: ModelConfig, layer: number, module: Sublayer, H: Tensor, at: SiteHook): Tensor {
  const [B, T, , d] = H.shape as [number, number, number, number];
  const x = at({ kind: 'branch_in', layer, module }, tf.reshape(H, [B, T, d])); // [B, T, d]
  const y = at({ kind: 'branch_out', layer, module }, bareBranch(p, c, layer, module, x)); // [B, T, d]
  return tf.reshape(postNorm(p, layer, module, x, y), [B, T, 1, d]); // [B, T, 1, d]
}
