// Hyper-connections' coefficients per token (HC paper; docs/model.md), from the projection of each
// stream's normalised row, proj = H̄ [W_α | W_β] ∈ R^{n×(n+2)} (one GEMM, computed before):
//   α[s, j] = α₀[s, j] + a·tanh(proj[s, j])   (j ≤ n: column 0 reads, 1…n mix)
//   β[s]    = β₀[s]    + b·tanh(proj[s, n+1])
// Static HC has no projection: α = α₀ and β = β₀ for every token.
// Backward from dα, dβ:
//   dproj = dα·a·(1 − tanh²) and dβ·b·(1 − tanh²)                         per token
//   dα₀ = Σ_t dα_t, dβ₀ = Σ_t dβ_t (column sums), da = Σ dα ⊙ tanh, db = Σ dβ ⊙ tanh (per-token
//   partials [T, 2], then one workgroup's fixed-order tree sum into the two scalars)
// Layouts: proj [T, n, n+2], α [T, n, n+1], β [T, n], α₀ [n, n+1], β₀ [n], a and b one float each.
/// <reference types="@webgpu/types" />
import type { StepProgram } from './step-program.ts';
import { cachedPipeline, invocationGroups } from './step-program.ts';
import { checkBindings } from './binding-size.ts';
import { recordColumnSum } from './column-sum.ts';

export interface HcCoefficientSpec {
  tokens: number;
  nStreams: number;
  dynamic: boolean;
}

const WG = 64;

function resolve(spec: HcCoefficientSpec) {
  const { tokens, nStreams: n, dynamic } = spec;
  if (![tokens, n].every((v) => Number.isInteger(v) && v >= 1)) throw new Error(`hc coefficients: tokens ${tokens}, nStreams ${n} must be positive integers`);
  if (n > 8) throw new Error(`hc coefficients: at most 8 streams, got ${n}`);
  return { tokens, n, dynamic };
}
type Resolved = ReturnType<typeof resolve>;

const consts = (s: Resolved) => `
const TOKENS: u32 = ${s.tokens}u;
const N: u32 = ${s.n}u;
const A: u32 = ${s.n + 1}u;
const P: u32 = ${s.n + 2}u;`;

/** One invocation per (token, stream): its n+1 α and its β. */
function forwardCode(s: Resolved): string {
  const dyn = s.dynamic;
  return /* wgsl */ `${consts(s)}
${dyn ? '@group(0) @binding(0) var<storage, read_write> proj: array<f32>;' : ''}
@group(0) @binding(${dyn ? 1 : 0}) var<storage, read_write> a0: array<f32>;
@group(0) @binding(${dyn ? 2 : 1}) var<storage, read_write> b0: array<f32>;
${dyn ? '@group(0) @binding(3) var<storage, read_write> sa: array<f32>;' : ''}
${dyn ? '@group(0) @binding(4) var<storage, read_write> sb: array<f32>;' : ''}
@group(0) @binding(${dyn ? 5 : 2}) var<storage, read_write> alpha: array<f32>;
@group(0) @binding(${dyn ? 6 : 3}) var<storage, read_write> beta: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.y * nwg.x * ${WG}u + gid.x;
  if (row >= TOKENS * N) { return; }
  let s = row % N;
  for (var j = 0u; j < A; j = j + 1u) {
    alpha[row * A + j] = a0[s * A + j]${dyn ? ' + sa[0] * tanh(proj[row * P + j])' : ''};
  }
  beta[row] = b0[s]${dyn ? ' + sb[0] * tanh(proj[row * P + N + 1u])' : ''};
}`;
}

/** dproj per (token, stream), and per token the partial sums of dα ⊙ tanh and dβ ⊙ tanh. */
function backwardCode(s: Resolved): string {
  return /* wgsl */ `${consts(s)}
@group(0) @binding(0) var<storage, read_write> proj: array<f32>;
@group(0) @binding(1) var<storage, read_write> sa: array<f32>;
@group(0) @binding(2) var<storage, read_write> sb: array<f32>;
@group(0) @binding(3) var<storage, read_write> dalpha: array<f32>;
@group(0) @binding(4) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(5) var<storage, read_write> dproj: array<f32>;
@group(0) @binding(6) var<storage, read_write> partial: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.y * nwg.x * ${WG}u + gid.x;
  if (t >= TOKENS) { return; }
  var pa = 0.0;
  var pb = 0.0;
  for (var s = 0u; s < N; s = s + 1u) {
    let row = t * N + s;
    for (var j = 0u; j < A; j = j + 1u) {
      let th = tanh(proj[row * P + j]);
      let g = dalpha[row * A + j];
      dproj[row * P + j] = g * sa[0] * (1.0 - th * th);
      pa = pa + g * th;
    }
    let th = tanh(proj[row * P + N + 1u]);
    let g = dbeta[row];
    dproj[row * P + N + 1u] = g * sb[0] * (1.0 - th * th);
    pb = pb + g * th;
  }
  partial[t * 2u] = pa;
  partial[t * 2u + 1u] = pb;
}`;
}

/** ∂a and ∂b: the two columns of partial [T, 2] summed by one workgroup (strided, then a tree). */
function scaleSumCode(s: Resolved): string {
  return /* wgsl */ `${consts(s)}
@group(0) @binding(0) var<storage, read_write> partial: array<f32>;
@group(0) @binding(1) var<storage, read_write> da: array<f32>;
@group(0) @binding(2) var<storage, read_write> db: array<f32>;
var<workgroup> red: array<f32, ${2 * WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid: vec3u) {
  var pa = 0.0;
  var pb = 0.0;
  for (var t = lid.x; t < TOKENS; t = t + ${WG}u) {
    pa = pa + partial[t * 2u];
    pb = pb + partial[t * 2u + 1u];
  }
  red[lid.x] = pa;
  red[${WG}u + lid.x] = pb;
  workgroupBarrier();
  for (var w = ${WG / 2}u; w > 0u; w = w / 2u) {
    if (lid.x < w) {
      red[lid.x] = red[lid.x] + red[lid.x + w];
      red[${WG}u + lid.x] = red[${WG}u + lid.x] + red[${WG}u + lid.x + w];
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    da[0] = red[0];
    db[0] = red[${WG}u];
  }
}`;
}

const key = (s: Resolved, part: string) => `hc-coeff.${part}.${s.dynamic ? 'dyn' : 'static'}.${s.tokens}x${s.n}`;

/** Invocations over x (and y past 65535 workgroups). */

export interface HcCoefficientOperands {
  /** [T, n, n+2]; dynamic only. */
  proj?: GPUBufferBinding;
  staticAlpha: GPUBufferBinding;
  staticBeta: GPUBufferBinding;
  /** a = dynamic_alpha_scale and b = dynamic_beta_scale, one float each; dynamic only. */
  alphaScale?: GPUBufferBinding;
  betaScale?: GPUBufferBinding;
  alpha: GPUBufferBinding;
  beta: GPUBufferBinding;
}

/** α and β for every token: one dispatch. */
export function recordHcCoefficientsForward(program: StepProgram, label: string, spec: HcCoefficientSpec, ops: HcCoefficientOperands): void {
  const s = resolve(spec);
  const rows = s.tokens * s.n;
  checkBindings(label, { ...ops }, { staticAlpha: s.n * (s.n + 1), staticBeta: s.n, alpha: rows * (s.n + 1), beta: rows, ...(s.dynamic ? { proj: rows * (s.n + 2), alphaScale: 1, betaScale: 1 } : {}) });
  const bindings = s.dynamic ? [ops.proj, ops.staticAlpha, ops.staticBeta, ops.alphaScale, ops.betaScale, ops.alpha, ops.beta] : [ops.staticAlpha, ops.staticBeta, ops.alpha, ops.beta];
  program.dispatch(label, cachedPipeline(program.device, key(s, 'fwd'), () => forwardCode(s)), bindings as GPUBufferBinding[], invocationGroups(rows, WG));
}

export interface HcCoefficientGradOperands {
  proj?: GPUBufferBinding;
  alphaScale?: GPUBufferBinding;
  betaScale?: GPUBufferBinding;
  dalpha: GPUBufferBinding;
  dbeta: GPUBufferBinding;
  /** ∂proj [T, n, n+2] (dynamic), written. */
  dproj?: GPUBufferBinding;
  /** Scratch [T, 2] (dynamic). */
  partial?: GPUBufferBinding;
  /** ∂α₀, ∂β₀ and (dynamic) ∂a, ∂b, written. */
  dStaticAlpha: GPUBufferBinding;
  dStaticBeta: GPUBufferBinding;
  dAlphaScale?: GPUBufferBinding;
  dBetaScale?: GPUBufferBinding;
}

/** dproj and the partials, then ∂a and ∂b (dynamic: 2 dispatches); ∂α₀ and ∂β₀ as column sums over tokens (2). */
export function recordHcCoefficientsBackward(program: StepProgram, label: string, spec: HcCoefficientSpec, ops: HcCoefficientGradOperands): void {
  const s = resolve(spec);
  const rows = s.tokens * s.n;
  checkBindings(label, { ...ops }, { dalpha: rows * (s.n + 1), dbeta: rows, dStaticAlpha: s.n * (s.n + 1), dStaticBeta: s.n, ...(s.dynamic ? { proj: rows * (s.n + 2), alphaScale: 1, betaScale: 1, dproj: rows * (s.n + 2), partial: 2 * s.tokens, dAlphaScale: 1, dBetaScale: 1 } : {}) });
  if (s.dynamic) {
    const bindings = [ops.proj, ops.alphaScale, ops.betaScale, ops.dalpha, ops.dbeta, ops.dproj, ops.partial] as GPUBufferBinding[];
    program.dispatch(`${label} (dproj)`, cachedPipeline(program.device, key(s, 'bwd'), () => backwardCode(s)), bindings, invocationGroups(s.tokens, WG));
    const sums = [ops.partial, ops.dAlphaScale, ops.dBetaScale] as GPUBufferBinding[];
    program.dispatch(`${label} (da, db)`, cachedPipeline(program.device, key(s, 'scales'), () => scaleSumCode(s)), sums, [1]);
  }
  recordColumnSum(program, `${label} (dα₀)`, { rows: s.tokens, cols: s.n * (s.n + 1) }, { x: ops.dalpha, out: ops.dStaticAlpha });
  recordColumnSum(program, `${label} (dβ₀)`, { rows: s.tokens, cols: s.n }, { x: ops.dbeta, out: ops.dStaticBeta });
}
