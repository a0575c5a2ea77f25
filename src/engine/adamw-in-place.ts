// What an AdamW update done in place takes, on either engine that does one: the fused WebGPU
// programs (train/adamw-webgpu.ts) and the wasm kernels (wasm/tfjs-kernels.ts: adamwInPlace);
// and the clipping factor, shared with the tfjs path (optimizer.ts: clipByGlobalNorm). The WGSL
// programs write the same factor in their own language.
import type { Tensor } from './tf.ts';

/** One parameter's tensors: p, m and v are written in place; g is read. */
export interface InPlaceParam {
  p: Tensor;
  m: Tensor;
  v: Tensor;
  g: Tensor;
  decay: boolean;
}

/** The factor clipping by global norm scales the gradients with: maxNorm/(norm + 1e-6) above maxNorm, else 1 (and 1 when maxNorm ≤ 0). */
export function clipCoefficient(norm: number, maxNorm: number): number {
  return maxNorm > 0 && norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
}

export interface AdamWScalars {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1 - beta1^t and 1 - beta2^t. */
  bc1: number;
  bc2: number;
  /** Clip the global gradient norm to this; 0 or less: no clipping. */
  maxNorm: number;
}
