// The readout's sum over streams (model/connections/readout.ts, reduceTerms): after ln_f per
// stream, x_f[t] = Σ_s Y[t, s] ∈ R^d, summed in stream order. Backward: every stream's gradient is
// the same dx_f[t], written (or added, `accumulate`) to dY[t, s]. One invocation per (token,
// column) each way. Layouts: Y, dY [T, n, d], x_f, dx_f [T, d].
/// <reference types="@webgpu/types" />
import type { StepProgram } from './step-program.ts';
import { cachedPipeline, invocationGroups } from './step-program.ts';
import { checkBindings } from './binding-size.ts';

export interface StreamSumSpec {
  tokens: number;
  nStreams: number;
  dModel: number;
  /** Backward: dY += dx_f instead of dY = dx_f. */
  accumulate?: boolean;
}

const WG = 64;

function resolve(spec: StreamSumSpec) {
  const { tokens, nStreams: n, dModel: d } = spec;
  if (![tokens, n, d].every((v) => Number.isInteger(v) && v >= 1)) throw new Error(`stream sum: tokens ${tokens}, nStreams ${n}, dModel ${d} must be positive integers`);
  return { tokens, n, d, accumulate: spec.accumulate ?? false };
}
type Resolved = ReturnType<typeof resolve>;

const consts = (s: Resolved) => `
const COUNT: u32 = ${s.tokens * s.d}u;
const N: u32 = ${s.n}u;
const D: u32 = ${s.d}u;`;


function forwardCode(s: Resolved): string {
  return /* wgsl */ `${consts(s)}
@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read_write> xf: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = gid.y * nwg.x * ${WG}u + gid.x;
  if (e >= COUNT) { return; }
  let t = e / D;
  let c = e % D;
  var acc = 0.0;
  for (var s = 0u; s < N; s = s + 1u) { acc = acc + y[(t * N + s) * D + c]; }
  xf[e] = acc;
}`;
}

function backwardCode(s: Resolved): string {
  return /* wgsl */ `${consts(s)}
@group(0) @binding(0) var<storage, read_write> dxf: array<f32>;
@group(0) @binding(1) var<storage, read_write> dy: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = gid.y * nwg.x * ${WG}u + gid.x;
  if (e >= COUNT) { return; }
  let t = e / D;
  let c = e % D;
  let g = dxf[e];
  for (var s = 0u; s < N; s = s + 1u) {
    let o = (t * N + s) * D + c;
    dy[o] = ${s.accumulate ? 'dy[o] + g' : 'g'};
  }
}`;
}

const key = (s: Resolved, part: string) => `stream-sum.${part}.${s.tokens}x${s.n}x${s.d}${s.accumulate ? '.acc' : ''}`;

/** x_f = Σ_s Y_s: one dispatch. */
export function recordStreamSumForward(program: StepProgram, label: string, spec: StreamSumSpec, ops: { y: GPUBufferBinding; xf: GPUBufferBinding }): void {
  const s = resolve(spec);
  checkBindings(label, { ...ops }, { y: s.tokens * s.n * s.d, xf: s.tokens * s.d });
  program.dispatch(label, cachedPipeline(program.device, key(s, 'fwd'), () => forwardCode(s)), [ops.y, ops.xf], invocationGroups(s.tokens * s.d, WG));
}

/** dY_s (+)= dx_f for every stream: one dispatch. */
export function recordStreamSumBackward(program: StepProgram, label: string, spec: StreamSumSpec, ops: { dxf: GPUBufferBinding; dy: GPUBufferBinding }): void {
  const s = resolve(spec);
  checkBindings(label, { ...ops }, { dxf: s.tokens * s.d, dy: s.tokens * s.n * s.d });
  program.dispatch(label, cachedPipeline(program.device, key(s, 'bwd'), () => backwardCode(s)), [ops.dxf, ops.dy], invocationGroups(s.tokens * s.d, WG));
}
