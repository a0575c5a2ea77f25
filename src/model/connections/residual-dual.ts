// ResiDual (Xie et al. 2023, arXiv 2304.14802; microsoft/ResiDual): a Post-Norm stream x_a that
// the sublayers read, and a Pre-Norm stream x_d that sums their raw outputs (docs/model.md).
//   y = T'(x_a),  x_a ← LN(x_a + y),  x_d ← x_d + y;  output x_a + LN_f(x_d).
import { tf, type Tensor } from '../../engine/tf.ts';
import type { ModelConfig } from '../config.ts';
import type { Sublayer } from '../hooks.ts';
import { layerNorm } from '../norms.ts';
import { param, type Params } from '../params.ts';
import { bareBranch, postNorm } from './post-norm.ts';
import type { SiteHook } from './site-hook.ts';

/** H = [x_a, x_d]: [B, T, 2, d] → [B, T, 2, d]. */
export function residualDualModule(p: Params, c: ModelConfig, layer: number, module: Sublayer, H: Tensor, at: SiteHook): Tensor {
  const [xa, xd] = tf.unstack(H, 2) as [Tensor, Tensor]; // [B, T, d] each
  const x = at({ kind: 'branch_in', layer, module }, xa); // [B, T, d]
  const y = at({ kind: 'branch_out', layer, module }, bareBranch(p, c, layer, module, x)); // [B, T, d]
  return tf.stack([postNorm(p, layer, module, x, y), tf.add(xd, y)], 2); // [B, T, 2, d]
}

/**
 * The readout's per-stream terms, summed by forward: x_a as it is (its last Post-Norm already
 * normalised it) and ln_f(x_d), as the reference's `x * alpha + layer_norm(res)` with alpha = 1.
 */
export function residualDualReadout(p: Params, H: Tensor): Tensor {
  const [xa, xd] = tf.unstack(H, 2) as [Tensor, Tensor]; // [B, T, d] each
  const lnF = layerNorm(xd, param(p, 'transformer.ln_f.weight'), p.get('transformer.ln_f.bias')); // [B, T, d]
  return tf.stack([xa, lnF], 2); // [B, T, 2, d]
}
