// The two sublayers T of a GPT-2 block, each preceded by its LayerNorm as in the reference's
// branch_attn = (LayerNorm, CausalSelfAttention) and branch_mlp = (LayerNorm, MLP ×4, GELU).
import { constant } from '../engine/constants.ts';
import { bmm, mm } from '../engine/matmul.ts';
import { tf, type Tensor } from '../engine/tf.ts';
import type { ModelConfig } from './config.ts';
import { gelu, layerNorm } from './norms.ts';
import { branchPrefix, type Params } from './params.ts';

const get = (p: Params, name: string): Tensor | undefined => p.get(name);
const must = (p: Params, name: string): Tensor => {
  const v = p.get(name);
  if (!v) throw new Error(`model has no parameter ${name}`);
  return v;
};

/** x Wᵀ + b for a PyTorch Linear stored [out, in]; x: [rows, in] → [rows, out]. */
export function linear(p: Params, name: string, x: Tensor): Tensor {
  const y = mm(x, must(p, `${name}.weight`), false, true);
  const b = get(p, `${name}.bias`);
  return b ? tf.add(y, b) : y;
}

/**
 * Additive causal mask: 0 on and below the diagonal, −1e9 above (exp underflows to 0). A
 * constant, built once per length and backend rather than in every layer of every forward.
 */
function causalMask(t: number): Tensor {
  return constant(`causal-mask.${t}`, () => {
    const m = new Float32Array(t * t);
    for (let i = 0; i < t; i++) m.fill(-1e9, i * t + i + 1, (i + 1) * t);
    return tf.tensor(m, [t, t]);
  }); // [t, t]
}

/**
 * LayerNorm → causal multi-head self-attention; x: [B, T, d] → [B, T, d]. `preNorm` false skips
 * the LayerNorm: Post-Norm and ResiDual apply the same `.0` norm after the residual add instead.
 */
export function attentionBranch(p: Params, c: ModelConfig, layer: number, x: Tensor, preNorm = true): Tensor {
  const [B, T, d] = x.shape as [number, number, number];
  const H = c.nHeads;
  const dh = d / H;
  const pre = branchPrefix(layer, 'attn');
  const xn = preNorm ? layerNorm(x, must(p, `${pre}.0.weight`), get(p, `${pre}.0.bias`)) : x;
  const qkv = linear(p, `${pre}.1.c_attn`, tf.reshape(xn, [B * T, d])); // [B*T, 3d]
  const heads = (t: Tensor) => tf.reshape(tf.transpose(tf.reshape(t, [B, T, H, dh]), [0, 2, 1, 3]), [B * H, T, dh]);
  const [q, k, v] = tf.split(qkv, 3, 1).map(heads) as [Tensor, Tensor, Tensor]; // [B*H, T, dh]
  const scores = tf.add(tf.mul(bmm(q, k, false, true), 1 / Math.sqrt(dh)), causalMask(T)); // [B*H, T, T]
  const attn = tf.softmax(scores, -1);
  const o = bmm(attn, v); // [B*H, T, dh]
  const merged = tf.reshape(tf.transpose(tf.reshape(o, [B, H, T, dh]), [0, 2, 1, 3]), [B * T, d]);
  return tf.reshape(linear(p, `${pre}.1.c_proj`, merged), [B, T, d]);
}

/** LayerNorm → MLP (d → 4d → d, exact GELU); x: [B, T, d] → [B, T, d]. `preNorm` as attentionBranch. */
export function mlpBranch(p: Params, _c: ModelConfig, layer: number, x: Tensor, preNorm = true): Tensor {
  const [B, T, d] = x.shape as [number, number, number];
  const pre = branchPrefix(layer, 'mlp');
  const xn = preNorm ? layerNorm(x, must(p, `${pre}.0.weight`), get(p, `${pre}.0.bias`)) : x;
  const h = gelu(linear(p, `${pre}.1.c_fc`, tf.reshape(xn, [B * T, d]))); // [B*T, 4d]
  return tf.reshape(linear(p, `${pre}.1.c_proj`, h), [B, T, d]);
}
