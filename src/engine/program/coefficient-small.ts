// What the mHC and mHC-lite coefficient kernels share: the five small parameters of a module, as
// the reference names them, in the order their kernels bind them and their gradients' sums write
// them, and the WGSL declarations of those bindings and of each direction's others.
/// <reference types="@webgpu/types" />

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

/**
 * WGSL: the backward's other operands in two bindings, so that the kernel needs 8 storage buffers,
 * WebGPU's default per-stage limit (Dawn's null backend allows no more): @binding 6 ∂α with ∂β
 * `DBETA` floats in, @binding 7 ∂proj with the per-token contributions `CONTRIB` floats in.
 */
export function backwardBindings(dbetaAt: number, contribAt: number): string {
  return `@group(0) @binding(6) var<storage, read_write> dcoeff: array<f32>;
@group(0) @binding(7) var<storage, read_write> dout: array<f32>;
const DBETA: u32 = ${dbetaAt}u;
const CONTRIB: u32 = ${contribAt}u;`;
}

/**
 * Two slices of one buffer, `second` after `first`, as one binding from first's start to second's
 * end; `at` is where second starts, in floats. Nothing between them is bound alongside (the
 * dispatch's overlap check would refuse it), so in an arena they should be neighbours.
 */
export function pairBinding(label: string, first: GPUBufferBinding, second: GPUBufferBinding): { binding: GPUBufferBinding; at: number } {
  const start = first.offset ?? 0;
  const firstEnd = start + (first.size ?? first.buffer.size - start);
  const secondStart = second.offset ?? 0;
  const end = secondStart + (second.size ?? second.buffer.size - secondStart);
  if (first.buffer !== second.buffer || secondStart < firstEnd) throw new Error(`${label}: the two operands must be slices of one buffer, the second after the first (bytes ${start}–${firstEnd} and ${secondStart}–${end})`);
  return { binding: { buffer: first.buffer, offset: start, size: end - start }, at: (secondStart - start) / 4 };
}

/** The backward's dispatch bindings and the two offsets its WGSL bakes in. */
export function backwardOperands(label: string, ops: CoefficientGradOperands): { bindings: GPUBufferBinding[]; dbetaAt: number; contribAt: number } {
  const dcoeff = pairBinding(`${label}: ∂α, ∂β`, ops.dalpha, ops.dbeta);
  const dout = pairBinding(`${label}: ∂proj, contributions`, ops.dproj, ops.contrib);
  return { bindings: [ops.proj, ...smallList(ops.small), dcoeff.binding, dout.binding], dbetaAt: dcoeff.at, contribAt: dout.at };
}

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
