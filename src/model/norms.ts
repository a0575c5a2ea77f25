// Normalisations and the activation of the GPT-2 block, matched to PyTorch's definitions:
// LayerNorm with eps 1e-5 and biased variance; F.normalize's max(‖x‖, 1e-12); exact GELU.
// On webgpu the norms run as fused programs (engine/webgpu-norms.ts) with the same formulas.
import { tf, type Tensor } from '../engine/tf.ts';
import { fusedNorm } from '../engine/webgpu-norms.ts';
import { fusedBackend } from '../engine/webgpu-raw.ts';

const LN_EPS = 1e-5;
const NORMALIZE_EPS_SQ = 1e-24; // (1e-12)², the floor F.normalize puts under ‖x‖

/** LayerNorm over the last axis; `bias` absent for bias-free models. */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor | undefined): Tensor {
  const gpu = fusedBackend();
  if (gpu) return fusedNorm(gpu, 'layer', x, weight, bias);
  const mean = tf.mean(x, -1, true);
  const centred = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centred), -1, true);
  const y = tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, LN_EPS))), weight);
  return bias ? tf.add(y, bias) : y;
}

/**
 * RMSNorm of the HC code: x/‖x‖ · √dim · (γ + 1), γ stored zero-initialised. The max under
 * the square root keeps a zero row (an ablated stream) at zero with a finite gradient.
 */
export function rmsNorm(x: Tensor, gamma: Tensor): Tensor {
  const gpu = fusedBackend();
  if (gpu) return fusedNorm(gpu, 'rms', x, gamma);
  const dim = x.shape[x.rank - 1] as number;
  const inv = tf.rsqrt(tf.maximum(tf.sum(tf.square(x), -1, true), NORMALIZE_EPS_SQ));
  return tf.mul(tf.mul(x, tf.mul(inv, Math.sqrt(dim))), tf.add(gamma, 1));
}

/** LayerNorm without bias and with the same (γ + 1) gain: the HC paper's choice of norm. */
export function gainLayerNorm(x: Tensor, gamma: Tensor): Tensor {
  const gpu = fusedBackend();
  if (gpu) return fusedNorm(gpu, 'gain', x, gamma);
  const mean = tf.mean(x, -1, true);
  const centred = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centred), -1, true);
  return tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, LN_EPS))), tf.add(gamma, 1));
}

/** GELU with the exact erf form, as torch.nn.GELU() by default: x·Φ(x). */
export function gelu(x: Tensor): Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}
