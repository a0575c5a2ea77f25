// The width connection of one HC module (HC paper, Algorithm 2; docs/model.md, One connection
// module), per token t with streams H_t ∈ R^{n×d} and alpha_t = [A_m | A_r] ∈ R^{n×(n+1)}:
//   x_t = Σ_s A_m[s]·H_s  (the branch input)      H'_t[u] = Σ_s A_r[s, u]·H_s  (the residual mix)
// Backward: dH_s = A_m[s]·dx + Σ_u A_r[s, u]·dH'_u,
//           dA_m[s] = ⟨H_s, dx⟩,  dA_r[s, u] = ⟨H_s, dH'_u⟩.
// One workgroup per token; each invocation walks columns, and the n(n+1) dot products are summed
// over the workgroup in one tree. Layouts: H and H' [T, n, d], x [T, d], alpha [T, n, n+1].
/// <reference types="@webgpu/types" />
import type { StepProgram } from './step-program.ts';
import { cachedPipeline } from './step-program.ts';
import { checkBindings } from './binding-size.ts';

export interface WidthSpec {
  /** tokens (B·T) */
  tokens: number;
  nStreams: number;
  dModel: number;
  /** backward: dH += … rather than = (the coefficients' backward also writes dH) */
  accumulate?: boolean;
}

/** WebGPU's default workgroup memory is 16 KiB; the reduction holds n(n+1) floats per invocation. */
const wgFor = (n: number) => (n * (n + 1) * 64 * 4 <= 16384 ? 64 : 32);

function resolve(spec: WidthSpec) {
  const { tokens, nStreams: n, dModel: d } = spec;
  if (![tokens, n, d].every((v) => Number.isInteger(v) && v >= 1)) throw new Error(`width connection: tokens ${tokens}, nStreams ${n}, dModel ${d} must be positive integers`);
  if (n > 8) throw new Error(`width connection: at most 8 streams, got ${n}`);
  return { tokens, n, d, accumulate: spec.accumulate ?? false, wg: wgFor(n) };
}

const groups = (tokens: number): [number, number] => [Math.min(tokens, 65535), Math.ceil(tokens / 65535)];

function consts(s: ReturnType<typeof resolve>): string {
  return `
const TOKENS: u32 = ${s.tokens}u;
const N: u32 = ${s.n}u;
const D: u32 = ${s.d}u;
const P: u32 = ${s.n * (s.n + 1)}u;
const WG: u32 = ${s.wg}u;`;
}

function forwardCode(s: ReturnType<typeof resolve>): string {
  return /* wgsl */ `${consts(s)}
@group(0) @binding(0) var<storage, read_write> h: array<f32>;
@group(0) @binding(1) var<storage, read_write> alpha: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> hm: array<f32>;
@compute @workgroup_size(${s.wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = wid.y * 65535u + wid.x;
  if (t >= TOKENS) { return; }
  let hb = t * N * D;
  let ab = t * P;
  for (var c = lid.x; c < D; c = c + WG) {
    var xs = 0.0;
    for (var s = 0u; s < N; s = s + 1u) { xs = xs + alpha[ab + s * (N + 1u)] * h[hb + s * D + c]; }
    x[t * D + c] = xs;
    for (var u = 0u; u < N; u = u + 1u) {
      var m = 0.0;
      for (var s = 0u; s < N; s = s + 1u) { m = m + alpha[ab + s * (N + 1u) + 1u + u] * h[hb + s * D + c]; }
      hm[hb + u * D + c] = m;
    }
  }
}`;
}

function backwardCode(s: ReturnType<typeof resolve>): string {
  return /* wgsl */ `${consts(s)}
@group(0) @binding(0) var<storage, read_write> h: array<f32>;
@group(0) @binding(1) var<storage, read_write> alpha: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<storage, read_write> dhm: array<f32>;
@group(0) @binding(4) var<storage, read_write> dh: array<f32>;
@group(0) @binding(5) var<storage, read_write> dalpha: array<f32>;
// red[k * WG + lane]: invocation lane's part of dot product k = s(n+1) + j
var<workgroup> red: array<f32, ${s.n * (s.n + 1) * s.wg}>;
@compute @workgroup_size(${s.wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = wid.y * 65535u + wid.x;
  if (t >= TOKENS) { return; }
  let hb = t * N * D;
  let ab = t * P;
  var dots: array<f32, ${s.n * (s.n + 1)}>;
  for (var c = lid.x; c < D; c = c + WG) {
    let g = dx[t * D + c];
    for (var s = 0u; s < N; s = s + 1u) {
      let hv = h[hb + s * D + c];
      var acc = alpha[ab + s * (N + 1u)] * g;
      dots[s * (N + 1u)] = dots[s * (N + 1u)] + hv * g;
      for (var u = 0u; u < N; u = u + 1u) {
        let gu = dhm[hb + u * D + c];
        acc = acc + alpha[ab + s * (N + 1u) + 1u + u] * gu;
        dots[s * (N + 1u) + 1u + u] = dots[s * (N + 1u) + 1u + u] + hv * gu;
      }
      ${s.accumulate ? 'dh[hb + s * D + c] = dh[hb + s * D + c] + acc;' : 'dh[hb + s * D + c] = acc;'}
    }
  }
  for (var k = 0u; k < P; k = k + 1u) { red[k * WG + lid.x] = dots[k]; }
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w = w / 2u) {
    if (lid.x < w) {
      for (var k = 0u; k < P; k = k + 1u) { red[k * WG + lid.x] = red[k * WG + lid.x] + red[k * WG + lid.x + w]; }
    }
    workgroupBarrier();
  }
  for (var k = lid.x; k < P; k = k + WG) { dalpha[ab + k] = red[k * WG]; }
}`;
}

const key = (s: ReturnType<typeof resolve>, part: string) => `width.${part}.${s.tokens}x${s.n}x${s.d}${s.accumulate ? '.acc' : ''}`;

/** x and H' from H and alpha: one dispatch. */
export function recordWidthForward(program: StepProgram, label: string, spec: WidthSpec, ops: { h: GPUBufferBinding; alpha: GPUBufferBinding; x: GPUBufferBinding; hm: GPUBufferBinding }): void {
  const s = resolve(spec);
  checkBindings(label, ops, { h: s.tokens * s.n * s.d, alpha: s.tokens * s.n * (s.n + 1), x: s.tokens * s.d, hm: s.tokens * s.n * s.d });
  program.dispatch(label, cachedPipeline(program.device, key(s, 'fwd'), () => forwardCode(s)), [ops.h, ops.alpha, ops.x, ops.hm], groups(s.tokens));
}

/** dH (or dH +=) and dalpha from dx and dH': one dispatch. */
export function recordWidthBackward(
  program: StepProgram,
  label: string,
  spec: WidthSpec,
  ops: { h: GPUBufferBinding; alpha: GPUBufferBinding; dx: GPUBufferBinding; dhm: GPUBufferBinding; dh: GPUBufferBinding; dalpha: GPUBufferBinding },
): void {
  const s = resolve(spec);
  const hn = s.tokens * s.n * s.d;
  checkBindings(label, ops, { h: hn, alpha: s.tokens * s.n * (s.n + 1), dx: s.tokens * s.d, dhm: hn, dh: hn, dalpha: s.tokens * s.n * (s.n + 1) });
  program.dispatch(label, cachedPipeline(program.device, key(s, 'bwd'), () => backwardCode(s)), [ops.h, ops.alpha, ops.dx, ops.dhm, ops.dh, ops.dalpha], groups(s.tokens));
}
