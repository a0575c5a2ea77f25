// The depth connection of one HC module (HC paper, Algorithm 2), per token t with the mixed
// streams H'_t ∈ R^{n×d}, the branch output y_t ∈ R^d and the write weights B_t ∈ R^n:
//   Ĥ_t[u] = H'_t[u] + B_t[u]·y_t
// Backward: dH' = dĤ (the caller binds dĤ where the width connection reads dH'),
//           dy = Σ_u B[u]·dĤ_u,  dB[u] = ⟨y, dĤ_u⟩.
// One workgroup per token. Layouts: H', Ĥ [T, n, d], y [T, d], B [T, n]. (The step program will
// fold the forward into the c_proj GEMM's epilogue; this kernel is its reference and fallback.)
/// <reference types="@webgpu/types" />
import type { StepProgram } from './step-program.ts';
import { cachedPipeline } from './step-program.ts';
import { checkBindings } from './binding-size.ts';

export interface DepthSpec {
  tokens: number;
  nStreams: number;
  dModel: number;
}

const WG = 64;

function resolve(spec: DepthSpec) {
  const { tokens, nStreams: n, dModel: d } = spec;
  if (![tokens, n, d].every((v) => Number.isInteger(v) && v >= 1)) throw new Error(`depth connection: tokens ${tokens}, nStreams ${n}, dModel ${d} must be positive integers`);
  if (n > 8) throw new Error(`depth connection: at most 8 streams, got ${n}`);
  return { tokens, n, d };
}

const groups = (tokens: number): [number, number] => [Math.min(tokens, 65535), Math.ceil(tokens / 65535)];

const consts = (s: ReturnType<typeof resolve>) => `
const TOKENS: u32 = ${s.tokens}u;
const N: u32 = ${s.n}u;
const D: u32 = ${s.d}u;
const WG: u32 = ${WG}u;`;

function forwardCode(s: ReturnType<typeof resolve>): string {
  return /* wgsl */ `${consts(s)}
@group(0) @binding(0) var<storage, read_write> hm: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = wid.y * 65535u + wid.x;
  if (t >= TOKENS) { return; }
  for (var c = lid.x; c < D; c = c + WG) {
    let yv = y[t * D + c];
    for (var u = 0u; u < N; u = u + 1u) {
      let o = (t * N + u) * D + c;
      out[o] = hm[o] + b[t * N + u] * yv;
    }
  }
}`;
}

function backwardCode(s: ReturnType<typeof resolve>): string {
  return /* wgsl */ `${consts(s)}
@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read_write> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> dout: array<f32>;
@group(0) @binding(3) var<storage, read_write> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> db: array<f32>;
var<workgroup> red: array<f32, ${s.n * WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = wid.y * 65535u + wid.x;
  if (t >= TOKENS) { return; }
  var dots: array<f32, ${s.n}>;
  for (var c = lid.x; c < D; c = c + WG) {
    let yv = y[t * D + c];
    var g = 0.0;
    for (var u = 0u; u < N; u = u + 1u) {
      let du = dout[(t * N + u) * D + c];
      g = g + b[t * N + u] * du;
      dots[u] = dots[u] + yv * du;
    }
    dy[t * D + c] = g;
  }
  for (var u = 0u; u < N; u = u + 1u) { red[u * WG + lid.x] = dots[u]; }
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w = w / 2u) {
    if (lid.x < w) {
      for (var u = 0u; u < N; u = u + 1u) { red[u * WG + lid.x] = red[u * WG + lid.x] + red[u * WG + lid.x + w]; }
    }
    workgroupBarrier();
  }
  for (var u = lid.x; u < N; u = u + WG) { db[t * N + u] = red[u * WG]; }
}`;
}

const key = (s: ReturnType<typeof resolve>, part: string) => `depth.${part}.${s.tokens}x${s.n}x${s.d}`;

/** Ĥ = H' + B⊗y: one dispatch. */
export function recordDepthForward(program: StepProgram, label: string, spec: DepthSpec, ops: { hm: GPUBufferBinding; y: GPUBufferBinding; b: GPUBufferBinding; out: GPUBufferBinding }): void {
  const s = resolve(spec);
  const hn = s.tokens * s.n * s.d;
  checkBindings(label, ops, { hm: hn, y: s.tokens * s.d, b: s.tokens * s.n, out: hn });
  program.dispatch(label, cachedPipeline(program.device, key(s, 'fwd'), () => forwardCode(s)), [ops.hm, ops.y, ops.b, ops.out], groups(s.tokens));
}

/** dy and dB from dĤ: one dispatch (dH' is dĤ itself). */
export function recordDepthBackward(program: StepProgram, label: string, spec: DepthSpec, ops: { y: GPUBufferBinding; b: GPUBufferBinding; dout: GPUBufferBinding; dy: GPUBufferBinding; db: GPUBufferBinding }): void {
  const s = resolve(spec);
  checkBindings(label, ops, { y: s.tokens * s.d, b: s.tokens * s.n, dout: s.tokens * s.n * s.d, dy: s.tokens * s.d, db: s.tokens * s.n });
  program.dispatch(label, cachedPipeline(program.device, key(s, 'bwd'), () => backwardCode(s)), [ops.y, ops.b, ops.dout, ops.dy, ops.db], groups(s.tokens));
}
