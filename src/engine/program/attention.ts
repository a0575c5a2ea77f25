// Causal multi-head self-attention from the packed c_attn output, with an online softmax
// (FlashAttention's recurrence; no T×T matrix is stored). Per (batch b, head h, query i), with
// s_ij = q_i·k_j/√dh for j ≤ i:
//   forward:  o_i = Σ_j softmax_j(s_i·) v_j, and L_i = logsumexp_j s_ij kept for the backward;
//   backward: P_ij = exp(s_ij − L_i), D_i = do_i·o_i, dS_ij = P_ij (do_i·v_j − D_i),
//             dq_i = Σ_j dS_ij k_j/√dh,  dk_j = Σ_{i≥j} dS_ij q_i/√dh,  dv_j = Σ_{i≥j} P_ij do_i.
// The model's −1e9 mask gives exp = 0 in float32, the same as leaving j > i out.
// Layouts (model/branches.ts): qkv [B·T, 3d] = [q | k | v] with head h in columns h·dh…;
// o [B·T, d]; L and D [B, H, T]; dqkv like qkv. This first version is one invocation per query
// (forward, dq) or key (dk, dv) row, reading K, V, Q straight from memory: correct, not yet
// tiled through workgroup memory.
/// <reference types="@webgpu/types" />
import type { StepProgram } from './step-program.ts';
import { cachedPipeline } from './step-program.ts';
import { checkBindings } from './binding-size.ts';

export interface AttentionSpec {
  batch: number;
  seqLen: number;
  nHeads: number;
  headDim: number;
}

const WG = 64;

function resolve(spec: AttentionSpec) {
  const { batch, seqLen, nHeads, headDim } = spec;
  if (![batch, seqLen, nHeads, headDim].every((v) => Number.isInteger(v) && v >= 1)) throw new Error(`attention: batch ${batch}, seqLen ${seqLen}, nHeads ${nHeads}, headDim ${headDim} must be positive integers`);
  const rows = batch * nHeads * seqLen;
  if (Math.ceil(rows / WG) > 65535) throw new Error(`attention: ${rows} rows exceed one dispatch's 65,535 workgroups of ${WG}`);
  return { B: batch, T: seqLen, H: nHeads, DH: headDim, rows };
}
type Resolved = ReturnType<typeof resolve>;

function header(s: Resolved): string {
  return /* wgsl */ `
const B: u32 = ${s.B}u;
const T: u32 = ${s.T}u;
const H: u32 = ${s.H}u;
const DH: u32 = ${s.DH}u;
const DM: u32 = ${s.H * s.DH}u;
const ROWS: u32 = ${s.rows}u;
const SCALE: f32 = ${1 / Math.sqrt(s.DH)};
// row r = (b·H + h)·T + t: the offsets of q, k, v at (b, t, h) in the packed qkv, and of o
fn q_at(b: u32, t: u32, h: u32) -> u32 { return (b * T + t) * 3u * DM + h * DH; }
fn o_at(b: u32, t: u32, h: u32) -> u32 { return (b * T + t) * DM + h * DH; }`;
}

function forwardCode(s: Resolved): string {
  return /* wgsl */ `${header(s)}
@group(0) @binding(0) var<storage, read_write> qkv: array<f32>;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= ROWS) { return; }
  let i = r % T;
  let h = (r / T) % H;
  let b = r / (T * H);
  var q: array<f32, ${s.DH}>;
  var acc: array<f32, ${s.DH}>;
  let qo = q_at(b, i, h);
  for (var c = 0u; c < DH; c = c + 1u) { q[c] = qkv[qo + c]; }
  var m = -3.0e38;
  var l = 0.0;
  for (var j = 0u; j <= i; j = j + 1u) {
    let ko = q_at(b, j, h) + DM;
    var sc = 0.0;
    for (var c = 0u; c < DH; c = c + 1u) { sc = sc + q[c] * qkv[ko + c]; }
    sc = sc * SCALE;
    let m2 = max(m, sc);
    let corr = exp(m - m2);
    let p = exp(sc - m2);
    l = l * corr + p;
    for (var c = 0u; c < DH; c = c + 1u) { acc[c] = acc[c] * corr + p * qkv[ko + DM + c]; }
    m = m2;
  }
  let oo = o_at(b, i, h);
  for (var c = 0u; c < DH; c = c + 1u) { o[oo + c] = acc[c] / l; }
  lse[r] = m + log(l);
}`;
}

/** Per query row: D_i = do_i·o_i (kept for the key pass) and dq_i. */
function backwardQCode(s: Resolved): string {
  return /* wgsl */ `${header(s)}
@group(0) @binding(0) var<storage, read_write> qkv: array<f32>;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
@group(0) @binding(2) var<storage, read_write> dout: array<f32>;
@group(0) @binding(3) var<storage, read_write> lse: array<f32>;
@group(0) @binding(4) var<storage, read_write> drow: array<f32>;
@group(0) @binding(5) var<storage, read_write> dqkv: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= ROWS) { return; }
  let i = r % T;
  let h = (r / T) % H;
  let b = r / (T * H);
  var q: array<f32, ${s.DH}>;
  var g: array<f32, ${s.DH}>;
  var dq: array<f32, ${s.DH}>;
  let qo = q_at(b, i, h);
  let oo = o_at(b, i, h);
  var di = 0.0;
  for (var c = 0u; c < DH; c = c + 1u) {
    q[c] = qkv[qo + c];
    g[c] = dout[oo + c];
    di = di + g[c] * o[oo + c];
  }
  drow[r] = di;
  let li = lse[r];
  for (var j = 0u; j <= i; j = j + 1u) {
    let ko = q_at(b, j, h) + DM;
    var sc = 0.0;
    var dp = 0.0;
    for (var c = 0u; c < DH; c = c + 1u) {
      sc = sc + q[c] * qkv[ko + c];
      dp = dp + g[c] * qkv[ko + DM + c];
    }
    let p = exp(sc * SCALE - li);
    let ds = p * (dp - di) * SCALE;
    for (var c = 0u; c < DH; c = c + 1u) { dq[c] = dq[c] + ds * qkv[ko + c]; }
  }
  for (var c = 0u; c < DH; c = c + 1u) { dqkv[qo + c] = dq[c]; }
}`;
}

/** Per key row: dk_j and dv_j over the queries i ≥ j. */
function backwardKVCode(s: Resolved): string {
  return /* wgsl */ `${header(s)}
@group(0) @binding(0) var<storage, read_write> qkv: array<f32>;
@group(0) @binding(1) var<storage, read_write> dout: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<storage, read_write> drow: array<f32>;
@group(0) @binding(4) var<storage, read_write> dqkv: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= ROWS) { return; }
  let j = r % T;
  let h = (r / T) % H;
  let b = r / (T * H);
  var k: array<f32, ${s.DH}>;
  var v: array<f32, ${s.DH}>;
  var dk: array<f32, ${s.DH}>;
  var dv: array<f32, ${s.DH}>;
  let ko = q_at(b, j, h) + DM;
  for (var c = 0u; c < DH; c = c + 1u) { k[c] = qkv[ko + c]; v[c] = qkv[ko + DM + c]; }
  let rowBase = (b * H + h) * T;
  for (var i = j; i < T; i = i + 1u) {
    let qo = q_at(b, i, h);
    let oo = o_at(b, i, h);
    var sc = 0.0;
    var dp = 0.0;
    for (var c = 0u; c < DH; c = c + 1u) {
      sc = sc + qkv[qo + c] * k[c];
      dp = dp + dout[oo + c] * v[c];
    }
    let p = exp(sc * SCALE - lse[rowBase + i]);
    let ds = p * (dp - drow[rowBase + i]) * SCALE;
    for (var c = 0u; c < DH; c = c + 1u) {
      dk[c] = dk[c] + ds * qkv[qo + c];
      dv[c] = dv[c] + p * dout[oo + c];
    }
  }
  for (var c = 0u; c < DH; c = c + 1u) { dqkv[ko + c] = dk[c]; dqkv[ko + DM + c] = dv[c]; }
}`;
}

const key = (s: Resolved, part: string) => `attn.${part}.${s.B}x${s.T}x${s.H}x${s.DH}`;

/** o and the row logsumexps from the packed qkv: one dispatch. */
export function recordAttentionForward(program: StepProgram, label: string, spec: AttentionSpec, ops: { qkv: GPUBufferBinding; o: GPUBufferBinding; lse: GPUBufferBinding }): void {
  const s = resolve(spec);
  const tokens = s.B * s.T;
  const d = s.H * s.DH;
  checkBindings(label, ops, { qkv: tokens * 3 * d, o: tokens * d, lse: s.rows });
  program.dispatch(label, cachedPipeline(program.device, key(s, 'fwd'), () => forwardCode(s)), [ops.qkv, ops.o, ops.lse], [Math.ceil(s.rows / WG)]);
}

/** dqkv (all three parts written) from do: two dispatches; `drow` is B·H·T floats of scratch. */
export function recordAttentionBackward(
  program: StepProgram,
  label: string,
  spec: AttentionSpec,
  ops: { qkv: GPUBufferBinding; o: GPUBufferBinding; lse: GPUBufferBinding; dout: GPUBufferBinding; drow: GPUBufferBinding; dqkv: GPUBufferBinding },
): void {
  const s = resolve(spec);
  const tokens = s.B * s.T;
  const d = s.H * s.DH;
  checkBindings(label, ops, { qkv: tokens * 3 * d, o: tokens * d, lse: s.rows, dout: tokens * d, drow: s.rows, dqkv: tokens * 3 * d });
  const groups: [number] = [Math.ceil(s.rows / WG)];
  program.dispatch(`${label} dq`, cachedPipeline(program.device, key(s, 'dq'), () => backwardQCode(s)), [ops.qkv, ops.o, ops.dout, ops.lse, ops.drow, ops.dqkv], groups);
  program.dispatch(`${label} dk dv`, cachedPipeline(program.device, key(s, 'dkv'), () => backwardKVCode(s)), [ops.qkv, ops.dout, ops.lse, ops.drow, ops.dqkv], groups);
}
