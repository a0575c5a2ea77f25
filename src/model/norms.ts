// Normalisations and the activation of the GPT-2 block, matched to PyTorch's definitions:
// LayerNorm with eps 1e-5 and biased variance; F.normalize's max(‖x‖, 1e-12); exact GELU.
// The norms are engine ops (engine/ops/norms.ts), which choose how they run.
import { geluOp } from '../engine/ops/gelu.ts';
import { gainLayerNormOp, layerNormOp, rmsNormOp } from '../engine/ops/norms.ts';
import type { Tensor } from '../engine/tf.ts';

/** LayerNorm over the last axis: (x − μ)/√(σ² + 1e-5) · w + b; `bias` absent for bias-free models. */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor | undefined): Tensor {
  return layerNormOp(x, weight, bias); // x's shape
}

/**
 * RMSNorm of the HC code: x/‖x‖ · √dim · (γ + 1), γ stored zero-initialised. The max under
 * the square root keeps a zero row (an ablated stream) at zero with a finite gradient.
 */
export function rmsNorm(x: Tensor, gamma: Tensor): Tensor {
  return rmsNormOp(x, gamma); // x's shape
}

/** LayerNorm without bias and with the same (γ + 1) gain: the HC paper's choice of norm. */
export function gainLayerNorm(x: Tensor, gamma: Tensor): Tensor {
  return gainLayerNormOp(x, gamma); // x's shape
}

/** GELU with the exact erf form, as torch.nn.GELU() by default: x·Φ(x). */
export function gelu(x: Tensor): Tensor {
  return geluOp(x); // x's shape
}
