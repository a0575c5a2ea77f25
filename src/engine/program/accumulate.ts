// acc += x over `length` floats, elementwise: the gradient accumulation over micro-batches adds
// each micro-batch's grads arena into the accumulated one (both laid out alike). One dispatch.
/// <reference types="@webgpu/types" />
import { bindingRanges, checkBindings, subBinding } from './binding-size.ts';
import type { StepProgram } from './step-program.ts';
import { cachedPipeline, invocationGroups } from './step-program.ts';

const WG = 256;

function code(length: number): string {
  return /* wgsl */ `
const LEN: u32 = ${length}u;
@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> acc: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = (wid.y * 65535u + wid.x) * ${WG}u + lid.x;
  if (i >= LEN) { return; }
  acc[i] = acc[i] + x[i];
}`;
}

/** One dispatch per binding range (one unless the arenas are larger than a storage binding may be). */
export function recordAccumulate(program: StepProgram, label: string, length: number, ops: { x: GPUBufferBinding; acc: GPUBufferBinding }): void {
  if (!Number.isInteger(length) || length < 1) throw new Error(`${label}: length ${length} must be a positive integer`);
  checkBindings(label, ops, { x: length, acc: length });
  for (const r of bindingRanges(length, program.device.limits.maxStorageBufferBindingSize)) {
    program.dispatch(label, cachedPipeline(program.device, `accumulate.${r.length}`, () => code(r.length)), [subBinding(ops.x, r.start, r.length), subBinding(ops.acc, r.start, r.length)], invocationGroups(r.length, WG));
  }
}
