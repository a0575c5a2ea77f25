// mHC-lite's coefficients from the two projections of the normed token as fused WGSL programs,
// for ops/mhc-lite-coefficients.ts: read σ(·), the softmax over the n! permutations and their
// convex combination, and the write 2σ(·) in one program per token (tfjs ops: ~14 kernels
// forward, ~30 backward); the gradient is one program per token plus the sums over tokens for
// the five small parameters. Same formulas, same order as the op's tfjs composite;
// test/model/webgpu-fused.test.ts compares them.
/// <reference types="@webgpu/types" />
import { factorial, permutations } from './permutations.ts';
import { tf, type Tensor } from './tf.ts';
import { dispatch, newTensor, packed, pipeline, type WebgpuBackend } from './webgpu-raw.ts';

const WG = 64;
const CHUNKS = 64;

/** Constants shared by the programs; `small` packs [pre, res, h_post, static_alpha (W), static_beta (n)]. */
function header(n: number): string {
  const perms = permutations(n);
  const P = perms.length;
  return `
const N: u32 = ${n}u;
const P: u32 = ${P}u;
const W: u32 = ${n + P}u;
const SA: u32 = 3u;
const SB: u32 = ${3 + n + P}u;
// a token's output: alpha [N, N + 1] row-major, then write [N]
const O: u32 = ${n * (n + 1) + n}u;
// PERM[k * N + i]: the column that permutation k sends row i to
const PERM = array<u32, ${P * n}>(${perms.flat().map((j) => `${j}u`).join(', ')});
fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-1.0 * x)); }`;
}

/** Bindings 0-2 and the per-token quantities that forward and backward both compute. */
function tokenCode(n: number): string {
  return `${header(n)}
@group(0) @binding(0) var<storage, read> wc: array<f32>;
@group(0) @binding(1) var<storage, read> wb: array<f32>;
@group(0) @binding(2) var<storage, read> small: array<f32>;
// A_m[i] = σ(wc[t, i] · pre + static_alpha[i])
fn read_weight(t: u32, i: u32) -> f32 { return sigmoid(wc[t * W + i] * small[0] + small[SA + i]); }
// softmax over k of wc[t, N + k] · res + static_alpha[N + k]
fn permutation_weights(t: u32) -> array<f32, ${factorial(n)}> {
  var q: array<f32, ${factorial(n)}>;
  var mx = -3.402823e+38;
  for (var k = 0u; k < P; k = k + 1u) {
    q[k] = wc[t * W + N + k] * small[1] + small[SA + N + k];
    mx = max(mx, q[k]);
  }
  var s = 0.0;
  for (var k = 0u; k < P; k = k + 1u) { q[k] = exp(q[k] - mx); s = s + q[k]; }
  for (var k = 0u; k < P; k = k + 1u) { q[k] = q[k] / s; }
  return q;
}
// σ(wb[t, i] · h_post_scale + static_beta[i]); the write is twice this
fn write_gate(t: u32, i: u32) -> f32 { return sigmoid(wb[t * N + i] * small[2] + small[SB + i]); }`;
}

function forwardCode(n: number): string {
  return `${tokenCode(n)}
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x;
  if (t >= arrayLength(&wb) / N) { return; }
  let a = t * O;
  for (var i = 0u; i < N; i = i + 1u) { out[a + i * (N + 1u)] = read_weight(t, i); }
  var q = permutation_weights(t);
  var m: array<f32, ${n * n}>;
  for (var k = 0u; k < P; k = k + 1u) {
    for (var i = 0u; i < N; i = i + 1u) { m[i * N + PERM[k * N + i]] = m[i * N + PERM[k * N + i]] + q[k]; }
  }
  for (var i = 0u; i < N; i = i + 1u) {
    for (var j = 0u; j < N; j = j + 1u) { out[a + i * (N + 1u) + 1u + j] = m[i * N + j]; }
    out[a + N * (N + 1u) + i] = write_gate(t, i) * 2.0;
  }
}`;
}

function backwardCode(n: number): string {
  return `${tokenCode(n)}
const K: u32 = ${3 + 2 * n + factorial(n)}u;
@group(0) @binding(3) var<storage, read> d_out: array<f32>;
@group(0) @binding(4) var<storage, read_write> d_wc: array<f32>;
@group(0) @binding(5) var<storage, read_write> d_wb: array<f32>;
@group(0) @binding(6) var<storage, read_write> contrib: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x;
  if (t >= arrayLength(&wb) / N) { return; }
  let pre = small[0];
  let res = small[1];
  let hps = small[2];
  let a = t * O;
  let c = t * K;
  var d_pre = 0.0;
  for (var i = 0u; i < N; i = i + 1u) {
    let r = read_weight(t, i);
    let dr = d_out[a + i * (N + 1u)] * r * (1.0 - r);
    d_wc[t * W + i] = dr * pre;
    d_pre = d_pre + dr * wc[t * W + i];
    contrib[c + SA + i] = dr;
  }
  var q = permutation_weights(t);
  var dp: array<f32, ${factorial(n)}>;
  var dot = 0.0;
  for (var k = 0u; k < P; k = k + 1u) {
    var g = 0.0;
    for (var i = 0u; i < N; i = i + 1u) { g = g + d_out[a + i * (N + 1u) + 1u + PERM[k * N + i]]; }
    dp[k] = g;
    dot = dot + g * q[k];
  }
  var d_res = 0.0;
  for (var k = 0u; k < P; k = k + 1u) {
    let dq = q[k] * (dp[k] - dot);
    d_wc[t * W + N + k] = dq * res;
    d_res = d_res + dq * wc[t * W + N + k];
    contrib[c + SA + N + k] = dq;
  }
  var d_hps = 0.0;
  for (var i = 0u; i < N; i = i + 1u) {
    let sg = write_gate(t, i);
    let dz = d_out[a + N * (N + 1u) + i] * 2.0 * sg * (1.0 - sg);
    d_wb[t * N + i] = dz * hps;
    d_hps = d_hps + dz * wb[t * N + i];
    contrib[c + SB + i] = dz;
  }
  contrib[c] = d_pre;
  contrib[c + 1u] = d_res;
  contrib[c + 2u] = d_hps;
}`;
}

/** Column sums of contrib [tokens, K] in row chunks: partial [chunks, K]. */
function partialCode(K: number): string {
  return `
const K: u32 = ${K}u;
@group(0) @binding(0) var<storage, read> contrib: array<f32>;
@group(0) @binding(1) var<storage, read_write> partial: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let col = gid.x;
  if (col >= K) { return; }
  let rows = arrayLength(&contrib) / K;
  let per = (rows + nwg.y - 1u) / nwg.y;
  var s = 0.0;
  for (var r = gid.y * per; r < min(rows, (gid.y + 1u) * per); r = r + 1u) { s = s + contrib[r * K + col]; }
  partial[gid.y * K + col] = s;
}`;
}

/** The chunk sums into the five parameter gradients, in `small`'s layout. */
function finalCode(n: number): string {
  return `${header(n)}
const K: u32 = ${3 + 2 * n + factorial(n)}u;
@group(0) @binding(0) var<storage, read> partial: array<f32>;
@group(0) @binding(1) var<storage, read_write> d_pre: array<f32>;
@group(0) @binding(2) var<storage, read_write> d_res: array<f32>;
@group(0) @binding(3) var<storage, read_write> d_hps: array<f32>;
@group(0) @binding(4) var<storage, read_write> d_sa: array<f32>;
@group(0) @binding(5) var<storage, read_write> d_sb: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let col = gid.x;
  if (col >= K) { return; }
  let chunks = arrayLength(&partial) / K;
  var s = 0.0;
  for (var c = 0u; c < chunks; c = c + 1u) { s = s + partial[c * K + col]; }
  if (col == 0u) { d_pre[0] = s; }
  else if (col == 1u) { d_res[0] = s; }
  else if (col == 2u) { d_hps[0] = s; }
  else if (col < SB) { d_sa[col - SA] = s; }
  else { d_sb[col - SB] = s; }
}`;
}

/**
 * The five small parameters, in `small`'s order: pre_branch_scale [1], residual_scale [1],
 * h_post_scale [], static_alpha [n + n!], static_beta [n].
 */
export type SmallParams = [Tensor, Tensor, Tensor, Tensor, Tensor];

/**
 * alpha [tokens, n, n+1] = [σ(read) | Σ_k softmax(perm)_k P_k] and write [tokens, n] = 2σ(·)
 * from wc = v·W_α [tokens, n+n!] and wb = v·W_β [tokens, n], with a fused gradient.
 */
export function fusedMhcLiteCoefficients(backend: WebgpuBackend, n: number, wc: Tensor, wb: Tensor, scales: SmallParams): { alpha: Tensor; write: Tensor } {
  const tokens = wb.shape[0] as number;
  const W = n + factorial(n);
  const K = 3 + n + W;
  const d = backend.device;
  const O = n * (n + 1) + n;
  const f = tf.customGrad(((wcIn: Tensor, wbIn: Tensor, pre: Tensor, res: Tensor, hps: Tensor, sa: Tensor, sb: Tensor, save: (t: Tensor[]) => void) => {
    const small = packed(backend, [pre, res, hps, sa, sb]);
    const out = newTensor(backend, [tokens, O]);
    dispatch(backend, pipeline(d, `hcprobe.mhclite.fwd.${n}`, () => forwardCode(n)), [wcIn, wbIn, small, out], [Math.ceil(tokens / WG)]);
    save([wcIn, wbIn, small]);
    return {
      value: out,
      gradFunc: (dOut: Tensor, saved: Tensor[]) => {
        const [wcS, wbS, smallS] = saved as [Tensor, Tensor, Tensor];
        const dwc = newTensor(backend, [tokens, W]);
        const dwb = newTensor(backend, [tokens, n]);
        const contrib = newTensor(backend, [tokens, K]);
        dispatch(backend, pipeline(d, `hcprobe.mhclite.bwd.${n}`, () => backwardCode(n)), [wcS, wbS, smallS, dOut, dwc, dwb, contrib], [Math.ceil(tokens / WG)]);
        const chunks = Math.max(1, Math.min(CHUNKS, Math.ceil(tokens / 64)));
        const partial = newTensor(backend, [chunks, K]);
        dispatch(backend, pipeline(d, `hcprobe.mhclite.partial.${K}`, () => partialCode(K)), [contrib, partial], [Math.ceil(K / WG), chunks]);
        const grads = [pre, res, hps, sa, sb].map((t) => newTensor(backend, t.shape));
        dispatch(backend, pipeline(d, `hcprobe.mhclite.final.${n}`, () => finalCode(n)), [partial, ...grads], [Math.ceil(K / WG)]);
        contrib.dispose();
        partial.dispose();
        return [dwc, dwb, ...grads];
      },
    };
  }) as never) as unknown as (...t: Tensor[]) => Tensor;
  const out = f(wc, wb, ...scales);
  const alpha = tf.reshape(tf.slice(out, [0, 0], [-1, n * (n + 1)]), [tokens, n, n + 1]);
  const write = tf.slice(out, [0, n * (n + 1)], [-1, n]);
  return { alpha, write };
}
