// Global-norm clipping and AdamW over whole arenas (docs/model.md, Optimisation): params, grads,
// m and v are four arenas with one slice layout, decay-group slices first, so the update is one
// elementwise pass with a single decay boundary. Three dispatches per step (two more per extra
// binding range when an arena is larger than one storage binding may be):
//   1. Σ g² over the grads arena into PARTIALS fixed partial sums (grid-stride, one per workgroup);
//   2. one workgroup: norm = √Σ, coef = maxNorm/(norm + 1e-6) when 0 < maxNorm < norm, else 1,
//      written to stats = [norm, coef] (the readback source of grad_norm);
//   3. per element, PyTorch's order: g ← coef·g; p ← p·(1 − lr·wd) in the decay group;
//      m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) g²; p ← p − (lr/bc1)·m/(√v/√bc2 + ε).
// The per-step values (lr, bc1 = 1−β1ᵗ, bc2 = 1−β2ᵗ) live in an 8-float `hyper` binding that the
// host writes before each submit (writeAdamwHyper). Gaps between slices are zero and stay zero.
/// <reference types="@webgpu/types" />
import type { StepProgram } from './step-program.ts';
import { cachedPipeline, invocationGroups } from './step-program.ts';
import { bindingRanges, checkBindings, subBinding } from './binding-size.ts';

export interface AdamwSpec {
  /** floats in each arena (the arena's bytes / 4) */
  length: number;
  /** floats from the start that are in the decay group (the first no-decay slice's offset / 4) */
  decayEnd: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** clip the global gradient norm to this; 0 or less: no clipping */
  maxNorm: number;
  /** Largest binding in bytes (default: the device's maxStorageBufferBindingSize); tests set it small to split. */
  maxBindingBytes?: number;
}

const WG = 256;
const PARTIALS = 64;

/** Floats of the hyper binding. */
export const ADAMW_HYPER_FLOATS = 8;

/** The hyper binding's values for update t (1-based) at learning rate lr. */
export function adamwHyper(spec: AdamwSpec, t: number, lr: number): Float32Array {
  const bc1 = 1 - spec.beta1 ** t;
  const bc2 = 1 - spec.beta2 ** t;
  return Float32Array.from([1 - lr * spec.weightDecay, lr / bc1, Math.sqrt(bc2), 0, 0, 0, 0, 0]);
}

const lit = (x: number) => (Number.isInteger(x) ? `${x}.0` : `${x}`);

function partialCode(s: AdamwSpec): string {
  return /* wgsl */ `
const LEN: u32 = ${s.length}u;
@group(0) @binding(0) var<storage, read_write> g: array<f32>;
@group(0) @binding(1) var<storage, read_write> partial: array<f32>;
var<workgroup> red: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  var acc = 0.0;
  for (var i = wid.x * ${WG}u + lid.x; i < LEN; i = i + ${PARTIALS * WG}u) { let x = g[i]; acc = acc + x * x; }
  red[lid.x] = acc;
  workgroupBarrier();
  for (var w = ${WG / 2}u; w > 0u; w = w / 2u) {
    if (lid.x < w) { red[lid.x] = red[lid.x] + red[lid.x + w]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { partial[wid.x] = red[0]; }
}`;
}

function normCode(s: AdamwSpec & { partials: number }): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> partial: array<f32>;
@group(0) @binding(1) var<storage, read_write> stats: array<f32>;
@compute @workgroup_size(1)
fn main() {
  var acc = 0.0;
  for (var k = 0u; k < ${s.partials}u; k = k + 1u) { acc = acc + partial[k]; }
  let norm = sqrt(acc);
  let max_norm = ${lit(s.maxNorm)};
  stats[0] = norm;
  stats[1] = select(1.0, max_norm / (norm + 1e-6), max_norm > 0.0 && norm > max_norm);
}`;
}

function updateCode(s: AdamwSpec): string {
  return /* wgsl */ `
const LEN: u32 = ${s.length}u;
const DECAY_END: u32 = ${s.decayEnd}u;
const B1: f32 = ${lit(s.beta1)};
const B2: f32 = ${lit(s.beta2)};
const EPS: f32 = ${lit(s.eps)};
@group(0) @binding(0) var<storage, read_write> p: array<f32>;
@group(0) @binding(1) var<storage, read_write> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;
// hyper: [1 − lr·wd, lr/bc1, √bc2, …]
@group(0) @binding(5) var<storage, read_write> hyper: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = (wid.y * 65535u + wid.x) * ${WG}u + lid.x;
  if (i >= LEN) { return; }
  let gi = g[i] * stats[1];
  let pd = select(p[i], p[i] * hyper[0], i < DECAY_END);
  let mi = B1 * m[i] + (1.0 - B1) * gi;
  let vi = B2 * v[i] + (1.0 - B2) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  p[i] = pd - hyper[1] * (mi / (sqrt(vi) / hyper[2] + EPS));
}`;
}

/**
 * Records the dispatches: per binding range of the arenas (one unless an arena is larger than a
 * storage binding may be), Σg² into that range's PARTIALS partials; then the norm (1); then the
 * update per range. `partial` holds PARTIALS floats per range (adamwPartials).
 */
export function recordAdamw(
  program: StepProgram,
  label: string,
  spec: AdamwSpec,
  ops: { params: GPUBufferBinding; grads: GPUBufferBinding; m: GPUBufferBinding; v: GPUBufferBinding; partial: GPUBufferBinding; stats: GPUBufferBinding; hyper: GPUBufferBinding },
): void {
  if (!Number.isInteger(spec.length) || spec.length < 1 || !Number.isInteger(spec.decayEnd) || spec.decayEnd < 0 || spec.decayEnd > spec.length) throw new Error(`${label}: length ${spec.length} and decayEnd ${spec.decayEnd} must be integers with 0 ≤ decayEnd ≤ length`);
  const dev = program.device;
  const ranges = bindingRanges(spec.length, spec.maxBindingBytes ?? dev.limits.maxStorageBufferBindingSize);
  checkBindings(label, ops, { params: spec.length, grads: spec.length, m: spec.length, v: spec.length, partial: PARTIALS * ranges.length, stats: 2, hyper: ADAMW_HYPER_FLOATS });
  const key = `adamw.${spec.beta1}.${spec.beta2}.${spec.eps}.${spec.maxNorm}`;
  ranges.forEach((r, i) => {
    const part = { ...spec, length: r.length };
    program.dispatch(`${label} Σg²${ranges.length > 1 ? ` ${i + 1}/${ranges.length}` : ''}`, cachedPipeline(dev, `${key}.${r.length}.sumsq`, () => partialCode(part)), [subBinding(ops.grads, r.start, r.length), subBinding(ops.partial, PARTIALS * i, PARTIALS)], [PARTIALS]);
  });
  const norm = { ...spec, partials: PARTIALS * ranges.length };
  program.dispatch(`${label} norm`, cachedPipeline(dev, `${key}.${norm.partials}.norm`, () => normCode(norm)), [subBinding(ops.partial, 0, norm.partials), ops.stats], [1]);
  ranges.forEach((r, i) => {
    const part = { ...spec, length: r.length, decayEnd: Math.min(r.length, Math.max(0, spec.decayEnd - r.start)) };
    const sub = (b: GPUBufferBinding) => subBinding(b, r.start, r.length);
    program.dispatch(`${label} update${ranges.length > 1 ? ` ${i + 1}/${ranges.length}` : ''}`, cachedPipeline(dev, `${key}.${part.length}.${part.decayEnd}.update`, () => updateCode(part)), [sub(ops.params), sub(ops.grads), sub(ops.m), sub(ops.v), ops.stats, ops.hyper], invocationGroups(r.length, WG));
  });
}

/** Floats of AdamW's `partial` scratch for arenas of `length` floats on this device. */
export function adamwPartials(device: GPUDevice, length: number, maxBindingBytes = device.limits.maxStorageBufferBindingSize): number {
  return PARTIALS * bindingRanges(length, maxBindingBytes).length;
}
