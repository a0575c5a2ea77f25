// mHC's coefficients per token (arXiv 2512.24880; docs/model.md) from the one projection of the
// RMS-normed token, proj = v [W_α | W_β] = [wc (n·(n+1)) | wb (n)] per token, wc read as [n, n+1]:
//   ℓ[s, j] = wc[s, j] · (j = 0 ? pre : res) + α₀[s, j]
//   A_m[s] = σ(ℓ[s, 0]),  A_r = Sinkhorn(ℓ[:, 1:]),  B[s] = 2σ(h_post · wb[s] + β₀[s])
// Sinkhorn as model/connections/mhc.ts and engine/ops/sinkhorn.ts: `iters` times, subtract the
// logsumexp over each column (over s), then over each row (over u); then exp. All per token, in one
// invocation's registers.
// Backward per token: the forward is run again keeping each half-step's logsumexps; going back,
// each earlier state is replayed from ℓ with those logsumexps (the same subtractions in the same
// order as the forward, so the same floats), and through y = x − lse(x): dx = dy − exp(y)·Σ dy
// over the line. The token's contributions to the five small parameters' gradients go to
// contrib [T, 3 + n(n+1) + n] and token-sums.ts adds them up (2 dispatches).
// Layouts: proj [T, n(n+1) + n], alpha [T, n, n+1] = [A_m | A_r], write [T, n].
/// <reference types="@webgpu/types" />
import type { StepProgram } from './step-program.ts';
import { cachedPipeline, invocationGroups } from './step-program.ts';
import { backwardBindings, backwardOperands, type CoefficientGradOperands, type CoefficientSmall, FORWARD_OUTPUTS, gradBindingNeeds, SMALL_BINDINGS, smallList, smallSizes } from './coefficient-small.ts';
import { checkBindings } from './binding-size.ts';
import { recordTokenSums, tokenSumChunks } from './token-sums.ts';

export interface MhcCoefficientSpec {
  tokens: number;
  nStreams: number;
  sinkhornIters: number;
  /** Token chunks of the parameter-gradient sums (default tokenSumChunks). */
  chunks?: number;
}

const WG = 64;

function resolve(spec: MhcCoefficientSpec) {
  const { tokens, nStreams: n, sinkhornIters: iters } = spec;
  if (![tokens, n].every((v) => Number.isInteger(v) && v >= 1)) throw new Error(`mhc coefficients: tokens ${tokens}, nStreams ${n} must be positive integers`);
  if (!Number.isInteger(iters) || iters < 0 || iters > 64) throw new Error(`mhc coefficients: sinkhornIters ${iters} must be an integer in 0…64`);
  if (n > 8) throw new Error(`mhc coefficients: at most 8 streams, got ${n}`);
  const chunks = spec.chunks ?? tokenSumChunks(tokens);
  const A = n * (n + 1);
  return { tokens, n, iters, chunks, A, R: A + n, K: 3 + A + n };
}
type Resolved = ReturnType<typeof resolve>;

/** Bindings 0–5 and the per-token functions shared by forward and backward. */
function tokenCode(s: Resolved): string {
  const steps = Math.max(1, 2 * s.iters * s.n);
  return /* wgsl */ `
const TOKENS: u32 = ${s.tokens}u;
const N: u32 = ${s.n}u;
const A: u32 = ${s.A}u;
const R: u32 = ${s.R}u;
const K: u32 = ${s.K}u;
const HALF_STEPS: u32 = ${2 * s.iters}u;
${SMALL_BINDINGS}
fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-1.0 * x)); }
// ℓ[s, j] of token t
fn logit(t: u32, s: u32, j: u32) -> f32 {
  let scale = select(res[0], pre[0], j == 0u);
  return proj[t * R + s * (N + 1u) + j] * scale + a0[s * (N + 1u) + j];
}
// entry i of line l: along a column (over s) for even half-steps, along a row (over u) for odd ones
fn at(h: u32, l: u32, i: u32) -> u32 { return select(l * N + i, i * N + l, h % 2u == 0u); }
// one half-step on y in place; returns nothing, stores the n logsumexps at lse[h * N + l]
fn half_step(y: ptr<function, array<f32, ${s.n * s.n}>>, lse: ptr<function, array<f32, ${steps}>>, h: u32) {
  for (var l = 0u; l < N; l = l + 1u) {
    var mx = -3.402823e+38;
    for (var i = 0u; i < N; i = i + 1u) { mx = max(mx, (*y)[at(h, l, i)]); }
    var total = 0.0;
    for (var i = 0u; i < N; i = i + 1u) { total = total + exp((*y)[at(h, l, i)] - mx); }
    let v = mx + log(total);
    (*lse)[h * N + l] = v;
    for (var i = 0u; i < N; i = i + 1u) { (*y)[at(h, l, i)] = (*y)[at(h, l, i)] - v; }
  }
}
fn start(t: u32) -> array<f32, ${s.n * s.n}> {
  var y: array<f32, ${s.n * s.n}>;
  for (var a = 0u; a < N; a = a + 1u) {
    for (var b = 0u; b < N; b = b + 1u) { y[a * N + b] = logit(t, a, 1u + b); }
  }
  return y;
}`;
}

function forwardCode(s: Resolved): string {
  const steps = Math.max(1, 2 * s.iters * s.n);
  return /* wgsl */ `${tokenCode(s)}
${FORWARD_OUTPUTS}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.y * nwg.x * ${WG}u + gid.x;
  if (t >= TOKENS) { return; }
  var y = start(t);
  var lse: array<f32, ${steps}>;
  for (var h = 0u; h < HALF_STEPS; h = h + 1u) { half_step(&y, &lse, h); }
  for (var a = 0u; a < N; a = a + 1u) {
    alpha[(t * N + a) * (N + 1u)] = sigmoid(logit(t, a, 0u));
    for (var b = 0u; b < N; b = b + 1u) { alpha[(t * N + a) * (N + 1u) + 1u + b] = exp(y[a * N + b]); }
    beta[t * N + a] = sigmoid(proj[t * R + A + a] * hps[0] + b0[a]) * 2.0;
  }
}`;
}

function backwardCode(s: Resolved, dbetaAt: number, contribAt: number): string {
  const steps = Math.max(1, 2 * s.iters * s.n);
  return /* wgsl */ `${tokenCode(s)}
${backwardBindings(dbetaAt, contribAt)}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.y * nwg.x * ${WG}u + gid.x;
  if (t >= TOKENS) { return; }
  let c = t * K;
  // forward again, keeping the logsumexps
  var y = start(t);
  var lse: array<f32, ${steps}>;
  for (var h = 0u; h < HALF_STEPS; h = h + 1u) { half_step(&y, &lse, h); }
  // through exp: g = dM ⊙ M
  var g: array<f32, ${s.n * s.n}>;
  for (var a = 0u; a < N; a = a + 1u) {
    for (var b = 0u; b < N; b = b + 1u) { g[a * N + b] = dcoeff[(t * N + a) * (N + 1u) + 1u + b] * exp(y[a * N + b]); }
  }
  // back through the half-steps; y_h (the state after half-step h) replayed from ℓ each time
  for (var k = HALF_STEPS; k > 0u; k = k - 1u) {
    let h = k - 1u;
    var z = start(t);
    for (var r = 0u; r <= h; r = r + 1u) {
      for (var l = 0u; l < N; l = l + 1u) {
        for (var i = 0u; i < N; i = i + 1u) { z[at(r, l, i)] = z[at(r, l, i)] - lse[r * N + l]; }
      }
    }
    for (var l = 0u; l < N; l = l + 1u) {
      var total = 0.0;
      for (var i = 0u; i < N; i = i + 1u) { total = total + g[at(h, l, i)]; }
      for (var i = 0u; i < N; i = i + 1u) { g[at(h, l, i)] = g[at(h, l, i)] - exp(z[at(h, l, i)]) * total; }
    }
  }
  var d_pre = 0.0;
  var d_res = 0.0;
  var d_hps = 0.0;
  for (var a = 0u; a < N; a = a + 1u) {
    let r0 = sigmoid(logit(t, a, 0u));
    let dz = dcoeff[(t * N + a) * (N + 1u)] * r0 * (1.0 - r0);
    let p0 = t * R + a * (N + 1u);
    dout[p0] = dz * pre[0];
    d_pre = d_pre + dz * proj[p0];
    dout[CONTRIB + c + 3u + a * (N + 1u)] = dz;
    for (var b = 0u; b < N; b = b + 1u) {
      let gr = g[a * N + b];
      dout[p0 + 1u + b] = gr * res[0];
      d_res = d_res + gr * proj[p0 + 1u + b];
      dout[CONTRIB + c + 3u + a * (N + 1u) + 1u + b] = gr;
    }
    let sg = sigmoid(proj[t * R + A + a] * hps[0] + b0[a]);
    let dw = dcoeff[DBETA + t * N + a] * 2.0 * sg * (1.0 - sg);
    dout[t * R + A + a] = dw * hps[0];
    d_hps = d_hps + dw * proj[t * R + A + a];
    dout[CONTRIB + c + 3u + A + a] = dw;
  }
  dout[CONTRIB + c] = d_pre;
  dout[CONTRIB + c + 1u] = d_res;
  dout[CONTRIB + c + 2u] = d_hps;
}`;
}

const key = (s: Resolved, part: string) => `mhc-coeff.${part}.${s.tokens}x${s.n}.i${s.iters}`;

/** The five small parameters of one module (staticAlpha: [n, n+1]). */
export type MhcSmall = CoefficientSmall;

/** alpha and write for every token: one dispatch. */
export function recordMhcCoefficientsForward(program: StepProgram, label: string, spec: MhcCoefficientSpec, ops: { proj: GPUBufferBinding; small: MhcSmall; alpha: GPUBufferBinding; beta: GPUBufferBinding }): void {
  const s = resolve(spec);
  checkBindings(label, { proj: ops.proj, alpha: ops.alpha, beta: ops.beta, ...ops.small }, { proj: s.tokens * s.R, alpha: s.tokens * s.A, beta: s.tokens * s.n, ...smallSizes(s.A, s.n) });
  program.dispatch(label, cachedPipeline(program.device, key(s, 'fwd'), () => forwardCode(s)), [ops.proj, ...smallList(ops.small), ops.alpha, ops.beta], invocationGroups(s.tokens, WG));
}

export type MhcCoefficientGradOperands = CoefficientGradOperands;

/** dproj and the per-token contributions (1), then the five small gradients (token-sums.ts: 2). */
export function recordMhcCoefficientsBackward(program: StepProgram, label: string, spec: MhcCoefficientSpec, ops: MhcCoefficientGradOperands): void {
  const s = resolve(spec);
  const { given, need } = gradBindingNeeds(ops, s.tokens, s.R, s.A, s.n);
  checkBindings(label, given, need);
  const b = backwardOperands(label, ops);
  program.dispatch(`${label} (dproj)`, cachedPipeline(program.device, `${key(s, 'bwd')}.${b.dbetaAt}.${b.contribAt}`, () => backwardCode(s, b.dbetaAt, b.contribAt)), b.bindings, invocationGroups(s.tokens, WG));
  // contrib's columns: d_pre, d_res, d_hps, dα₀ (n(n+1)), dβ₀ (n), in smallList's order
  recordTokenSums(program, label, { tokens: s.tokens, widths: [1, 1, 1, s.A, s.n], chunks: s.chunks }, { contrib: ops.contrib, partial: ops.partial, outs: smallList(ops.dSmall) });
}
