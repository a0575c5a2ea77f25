// What an AdamW update done in place takes, on either engine that does one: the fused WebGPU
// programs (train/adamw-webgpu.ts) and the wasm kernels (wasm/tfjs-kernels.ts: adamwInPlace).
import type { Tensor } from './tf.ts';

/** One parameter's tensors: p, m and v are written in place; g is read. */
export interface InPlaceParam {
  p: Tensor;
  m: Tensor;
  v: Tensor;
  g: Tensor;
  decay: boolean;
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
