// Two matrices with the same rows side by side, and back: packed[r] = [a[r] | b[r]] for a [R, A]
// and b [R, B]. The coefficient projection multiplies by [W_α | W_β] in one GEMM while the params
// arena keeps W_α and W_β as the model's own tensors (decay groups and checkpoints stay 1:1); the
// backward unpacks the GEMM's packed dW into the two gradients. One dispatch each way, one
// invocation per packed element.
/// <reference types="@webgpu/types" />
import type { StepProgram } from './step-program.ts';
import { cachedPipeline, invocationGroups } from './step-program.ts';
import { checkBindings } from './binding-size.ts';

export interface PackSpec {
  rows: number;
  aCols: number;
  bCols: number;
}

const WG = 64;

function resolve(spec: PackSpec) {
  const { rows, aCols, bCols } = spec;
  if (![rows, aCols, bCols].every((v) => Number.isInteger(v) && v >= 1)) throw new Error(`pack columns: rows ${rows}, aCols ${aCols}, bCols ${bCols} must be positive integers`);
  return { rows, aCols, bCols, cols: aCols + bCols };
}

function code(s: ReturnType<typeof resolve>, pack: boolean): string {
  const move = pack
    ? `if (c < A) { packed[e] = a[r * A + c]; } else { packed[e] = b[r * B + c - A]; }`
    : `if (c < A) { a[r * A + c] = packed[e]; } else { b[r * B + c - A] = packed[e]; }`;
  return /* wgsl */ `
const COUNT: u32 = ${s.rows * s.cols}u;
const A: u32 = ${s.aCols}u;
const B: u32 = ${s.bCols}u;
const C: u32 = ${s.cols}u;
@group(0) @binding(0) var<storage, read_write> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> packed: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = gid.y * nwg.x * ${WG}u + gid.x;
  if (e >= COUNT) { return; }
  let r = e / C;
  let c = e % C;
  ${move}
}`;
}

/** packed = [a | b] (pack) or a, b = packed (unpack): one dispatch. */
export function recordPackColumns(program: StepProgram, label: string, spec: PackSpec, direction: 'pack' | 'unpack', ops: { a: GPUBufferBinding; b: GPUBufferBinding; packed: GPUBufferBinding }): void {
  const s = resolve(spec);
  checkBindings(label, { ...ops }, { a: s.rows * s.aCols, b: s.rows * s.bCols, packed: s.rows * s.cols });
  const key = `pack-columns.${direction}.${s.rows}x${s.aCols}+${s.bCols}`;
  program.dispatch(label, cachedPipeline(program.device, key, () => code(s, direction === 'pack')), [ops.a, ops.b, ops.packed], invocationGroups(s.rows * s.cols, WG));
}
