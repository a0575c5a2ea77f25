/// <reference types="@webgpu/types" />
// What the mHC and mHC-lite coefficient kernels share: the five small parameters of a module, as
// the reference names them, in the order their kernels bind them and their gradients' sums write
// them, and the WGSL declarations of those bindings and of each direction's others.

export interface CoefficientSmall {
  preBranchScale: GPUBufferBinding; // [1]
  residualScale: GPUBufferBinding; // [1]
  hPostScale: GPUBufferBinding; // []
  /** mHC: [n, n+1]; mHC-lite: [n + n!]. */
  staticAlpha: GPUBufferBinding;
  staticBeta: GPUBufferBinding; // [n]
}

/** WGSL: @binding 0 the projection, 1–5 the five small parameters in smallList's order. */
export const SMALL_BINDINGS = `@group(0) @binding(0) var<storage, read_write> proj: array<f32>;
@group(0) @binding(1) var<storage, read_write> pre: array<f32>;
@group(0) @binding(2) var<storage, read_write> res: array<f32>;
@group(0) @binding(3) var<storage, read_write> hps: array<f32>;
@group(0) @binding(4) var<storage, read_write> a0: array<f32>;
@group(0) @binding(5) var<storage, read_write> b0: array<f32>;`;

/** WGSL: the forward's outputs, @binding 6 and 7. */
export const FORWARD_OUTPUTS = `@group(0) @binding(6) var<storage, read_write> alpha: array<f32>;
@group(0) @binding(7) var<storage, read_write> beta: array<f32>;`;

/** WGSL: the backward's upstream gradients, ∂proj and the per-token contributions, @binding 6–9. */
export const BACKWARD_BINDINGS = `@group(0) @binding(6) var<storage, read_write> dalpha: array<f32>;
@group(0) @binding(7) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(8) var<storage, read_write> dproj: array<f32>;
@group(0) @binding(9) var<storage, read_write> contrib: array<f32>;`;

/** The five in binding order. */
export const smallList = (p: CoefficientSmall): GPUBufferBinding[] => [p.preBranchScale, p.residualScale, p.hPostScale, p.staticAlpha, p.staticBeta];

/** Floats each holds, for checkBindings; also the column widths of the kernels' per-token contributions. */
export const smallSizes = (alphaWidth: number, n: number) => ({ preBranchScale: 1, residualScale: 1, hPostScale: 1, staticAlpha: alphaWidth, staticBeta: n });

/** The backward's operands, shared by both kernels. */
export interface CoefficientGradOperands {
  proj: GPUBufferBinding;
  small: CoefficientSmall;
  dalpha: GPUBufferBinding;
  dbeta: GPUBufferBinding;
  /** ∂proj, written. */
  dproj: GPUBufferBinding;
  /** Scratch [T, K] and [chunks, K] (K = 3 + width of α₀ + n). */
  contrib: GPUBufferBinding;
  partial: GPUBufferBinding;
  /** The five gradients, written. */
  dSmall: CoefficientSmall;
}

/** checkBindings' arguments for the backward: every operand by name, with the floats it must hold. */
export function gradBindingNeeds(ops: CoefficientGradOperands, tokens: number, projWidth: number, alphaWidth: number, n: number) {
  const sizes = smallSizes(alphaWidth, n);
  const given = { proj: ops.proj, dalpha: ops.dalpha, dbeta: ops.dbeta, dproj: ops.dproj, contrib: ops.contrib, ...ops.small, ...Object.fromEntries(Object.entries(ops.dSmall).map(([k, v]) => [`d ${k}`, v])) };
  const K = 3 + alphaWidth + n;
  const need = { proj: tokens * projWidth, dalpha: tokens * n * (n + 1), dbeta: tokens * n, dproj: tokens * projWidth, contrib: tokens * K, ...sizes, ...Object.fromEntries(Object.entries(sizes).map(([k, v]) => [`d ${k}`, v])) };
  return { given, need };
}
