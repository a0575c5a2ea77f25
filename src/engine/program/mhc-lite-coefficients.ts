// mHC-lite's coefficients per token (arXiv 2601.05732; docs/model.md) from the one projection of
// the normed token, proj = v [W_α | W_β] = [wc (n + n!) | wb (n)] per token:
//   A_m[i] = σ(pre · wc[i] + α₀[i])
//   A_r    = Σ_k softmax_k(res · wc[n + k] + α₀[n + k]) P_k      (P_k the k-th permutation matrix)
//   B[i]   = 2σ(h_post · wb[i] + β₀[i])
// The formulas and their order are those of engine/ops/mhc-lite-coefficients.ts (its composite, and
// the fused tfjs-webgpu program of engine/webgpu-mhc-lite.ts this kernel is ported from).
// Backward: one invocation per token writes dproj and the token's contributions to the five small
// parameters' gradients, [T, K] with K = 3 + (n + n!) + n; then token-sums.ts sums them over
// tokens into the five gradients (2 dispatches).
// Layouts: proj [T, n + n! + n], alpha [T, n, n+1] = [A_m | A_r], write [T, n].
/// <reference types="@webgpu/types" />
import { factorial, permutations } from '../permutations.ts';
import type { StepProgram } from './step-program.ts';
import { cachedPipeline, invocationGroups } from './step-program.ts';
import { backwardBindings, backwardOperands, type CoefficientGradOperands, type CoefficientSmall, FORWARD_OUTPUTS, gradBindingNeeds, SMALL_BINDINGS, smallList, smallSizes } from './coefficient-small.ts';
import { checkBindings } from './binding-size.ts';
import { recordTokenSums, tokenSumChunks } from './token-sums.ts';

export interface MhcLiteCoefficientSpec {
  tokens: number;
  nStreams: number;
  /** Token chunks of the parameter-gradient sums (default: tokens / 64, at most 64). */
  chunks?: number;
}

const WG = 64;

function resolve(spec: MhcLiteCoefficientSpec) {
  const { tokens, nStreams: n } = spec;
  if (![tokens, n].every((v) => Number.isInteger(v) && v >= 1)) throw new Error(`mhc-lite coefficients: tokens ${tokens}, nStreams ${n} must be positive integers`);
  if (n > 6) throw new Error(`mhc-lite coefficients: at most 6 streams (n! permutations), got ${n}`);
  const chunks = spec.chunks ?? tokenSumChunks(tokens);
  if (!Number.isInteger(chunks) || chunks < 1 || chunks > tokens) throw new Error(`mhc-lite coefficients: ${chunks} chunks for ${tokens} tokens`);
  const P = factorial(n);
  return { tokens, n, P, W: n + P, K: 3 + 2 * n + P, chunks };
}
type Resolved = ReturnType<typeof resolve>;

function header(s: Resolved): string {
  const perms = permutations(s.n);
  return `
const TOKENS: u32 = ${s.tokens}u;
const N: u32 = ${s.n}u;
const P: u32 = ${s.P}u;
const W: u32 = ${s.W}u;
const R: u32 = ${s.W + s.n}u;
const K: u32 = ${s.K}u;
const SA: u32 = 3u;
const SB: u32 = ${3 + s.W}u;
// PERM[k * N + i]: the column that permutation k sends row i to
const PERM = array<u32, ${s.P * s.n}>(${perms.flat().map((j) => `${j}u`).join(', ')});
fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-1.0 * x)); }`;
}

/** The per-token quantities forward and backward share; bindings 0–5 are proj and the five small parameters. */
function tokenCode(s: Resolved): string {
  return `${header(s)}
${SMALL_BINDINGS}
fn read_weight(t: u32, i: u32) -> f32 { return sigmoid(proj[t * R + i] * pre[0] + a0[i]); }
fn permutation_weights(t: u32) -> array<f32, ${s.P}> {
  var q: array<f32, ${s.P}>;
  var mx = -3.402823e+38;
  for (var k = 0u; k < P; k = k + 1u) {
    q[k] = proj[t * R + N + k] * res[0] + a0[N + k];
    mx = max(mx, q[k]);
  }
  var total = 0.0;
  for (var k = 0u; k < P; k = k + 1u) { q[k] = exp(q[k] - mx); total = total + q[k]; }
  for (var k = 0u; k < P; k = k + 1u) { q[k] = q[k] / total; }
  return q;
}
fn write_gate(t: u32, i: u32) -> f32 { return sigmoid(proj[t * R + W + i] * hps[0] + b0[i]); }`;
}

function forwardCode(s: Resolved): string {
  return `${tokenCode(s)}
${FORWARD_OUTPUTS}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.y * nwg.x * ${WG}u + gid.x;
  if (t >= TOKENS) { return; }
  let a = t * N * (N + 1u);
  for (var i = 0u; i < N; i = i + 1u) { alpha[a + i * (N + 1u)] = read_weight(t, i); }
  var q = permutation_weights(t);
  var m: array<f32, ${s.n * s.n}>;
  for (var k = 0u; k < P; k = k + 1u) {
    for (var i = 0u; i < N; i = i + 1u) { m[i * N + PERM[k * N + i]] = m[i * N + PERM[k * N + i]] + q[k]; }
  }
  for (var i = 0u; i < N; i = i + 1u) {
    for (var j = 0u; j < N; j = j + 1u) { alpha[a + i * (N + 1u) + 1u + j] = m[i * N + j]; }
    beta[t * N + i] = write_gate(t, i) * 2.0;
  }
}`;
}

function backwardCode(s: Resolved, dbetaAt: number, contribAt: number): string {
  return `${tokenCode(s)}
${backwardBindings(dbetaAt, contribAt)}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.y * nwg.x * ${WG}u + gid.x;
  if (t >= TOKENS) { return; }
  let a = t * N * (N + 1u);
  let c = t * K;
  var d_pre = 0.0;
  for (var i = 0u; i < N; i = i + 1u) {
    let r = read_weight(t, i);
    let dr = dcoeff[a + i * (N + 1u)] * r * (1.0 - r);
    dout[t * R + i] = dr * pre[0];
    d_pre = d_pre + dr * proj[t * R + i];
    dout[CONTRIB + c + SA + i] = dr;
  }
  var q = permutation_weights(t);
  var dp: array<f32, ${s.P}>;
  var dot = 0.0;
  for (var k = 0u; k < P; k = k + 1u) {
    var g = 0.0;
    for (var i = 0u; i < N; i = i + 1u) { g = g + dcoeff[a + i * (N + 1u) + 1u + PERM[k * N + i]]; }
    dp[k] = g;
    dot = dot + g * q[k];
  }
  var d_res = 0.0;
  for (var k = 0u; k < P; k = k + 1u) {
    let dq = q[k] * (dp[k] - dot);
    dout[t * R + N + k] = dq * res[0];
    d_res = d_res + dq * proj[t * R + N + k];
    dout[CONTRIB + c + SA + N + k] = dq;
  }
  var d_hps = 0.0;
  for (var i = 0u; i < N; i = i + 1u) {
    let sg = write_gate(t, i);
    let dz = dcoeff[DBETA + t * N + i] * 2.0 * sg * (1.0 - sg);
    dout[t * R + W + i] = dz * hps[0];
    d_hps = d_hps + dz * proj[t * R + W + i];
    dout[CONTRIB + c + SB + i] = dz;
  }
  dout[CONTRIB + c] = d_pre;
  dout[CONTRIB + c + 1u] = d_res;
  dout[CONTRIB + c + 2u] = d_hps;
}`;
}

const key = (s: Resolved, part: string) => `mhc-lite-coeff.${part}.${s.tokens}x${s.n}.c${s.chunks}`;

/** The five small parameters of one module (staticAlpha: [n + n!]). */
export type MhcLiteSmall = CoefficientSmall;

/** alpha and write for every token: one dispatch. */
export function recordMhcLiteCoefficientsForward(program: StepProgram, label: string, spec: MhcLiteCoefficientSpec, ops: { proj: GPUBufferBinding; small: MhcLiteSmall; alpha: GPUBufferBinding; beta: GPUBufferBinding }): void {
  const s = resolve(spec);
  checkBindings(label, { proj: ops.proj, alpha: ops.alpha, beta: ops.beta, ...ops.small }, { proj: s.tokens * (s.W + s.n), alpha: s.tokens * s.n * (s.n + 1), beta: s.tokens * s.n, ...smallSizes(s.W, s.n) });
  program.dispatch(label, cachedPipeline(program.device, key(s, 'fwd'), () => forwardCode(s)), [ops.proj, ...smallList(ops.small), ops.alpha, ops.beta], invocationGroups(s.tokens, WG));
}

export type MhcLiteCoefficientGradOperands = CoefficientGradOperands;

/** dproj and the per-token contributions (1), their chunk sums (1) and the five gradients (1). */
export function recordMhcLiteCoefficientsBackward(program: StepProgram, label: string, spec: MhcLiteCoefficientSpec, ops: MhcLiteCoefficientGradOperands): void {
  const s = resolve(spec);
  const { given, need } = gradBindingNeeds(ops, s.tokens, s.W + s.n, s.W, s.n);
  checkBindings(label, given, need);
  const b = backwardOperands(label, ops);
  program.dispatch(`${label} (dproj)`, cachedPipeline(program.device, `${key(s, 'bwd')}.${b.dbetaAt}.${b.contribAt}`, () => backwardCode(s, b.dbetaAt, b.contribAt)), b.bindings, invocationGroups(s.tokens, WG));
  // contrib's columns: d_pre, d_res, d_hps, dα₀ (n + n!), dβ₀ (n), in smallList's order
  recordTokenSums(program, label, { tokens: s.tokens, widths: [1, 1, 1, s.W, s.n], chunks: s.chunks }, { contrib: ops.contrib, partial: ops.partial, outs: smallList(ops.dSmall) });
}
