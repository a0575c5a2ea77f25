// LayerNorm, the (γ+1)-gain LayerNorm and RMSNorm of ops/norms.ts as fused WGSL programs with
// their gradient, for the webgpu backend. Through tfjs ops a LayerNorm is ~9 kernels forward and ~25
// backward; here it is 1 forward (one workgroup per row, also writing the row statistics) and 3
// backward (dx per row; dγ and dβ as column sums in row chunks, then over the chunks).
// The formulas are those of the ops' tfjs composites, in the same order;
// test/model/webgpu-norms.test.ts checks them against the composites.
/// <reference types="@webgpu/types" />
import { tf, type Tensor } from './tf.ts';
import { dispatch, newTensor, pipeline, rowGroups, type WebgpuBackend, workgroupSumWgsl } from './webgpu-raw.ts';

/** layer: (x-μ)/σ·w (+b); gain: (x-μ)/σ·(γ+1); rms: x/‖x‖·√D·(γ+1), ‖x‖ floored at 1e-12. */
export type NormKind = 'layer' | 'gain' | 'rms';

const WG = 256;
/** Column sums of the parameter gradients: COLS columns per workgroup, rows in up to CHUNKS chunks. */
const COLS = 64;
const CHUNKS = 64;

function header(D: number): string {
  return `
const D: u32 = ${D}u;
const WG: u32 = ${WG}u;
const LN_EPS: f32 = 1e-5;
const SS_FLOOR: f32 = 1e-24;
// workgroup_sum is called in uniform control flow: the row is the workgroup's
${workgroupSumWgsl(WG)}`;
}

/** The gain each element is multiplied by: w, or γ + 1. */
const gainOf = (kind: NormKind) => (kind === 'layer' ? 'w[i]' : '(w[i] + 1.0)');

function forwardCode(kind: NormKind, D: number, bias: boolean): string {
  const stats =
    kind === 'rms'
      ? `
  var q = 0.0;
  for (var i = lid.x; i < D; i = i + WG) { let v = x[base + i]; q = q + v * v; }
  let ss = workgroup_sum(q, lid.x);
  let r = inverseSqrt(max(ss, SS_FLOOR)) * sqrt(f32(D));
  // stats: r, and r/ss where the floor is not active (the gradient through ‖x‖), else 0
  let s0 = r;
  let s1 = select(0.0, r / ss, ss >= SS_FLOOR);`
      : `
  var s = 0.0;
  for (var i = lid.x; i < D; i = i + WG) { s = s + x[base + i]; }
  let mean = workgroup_sum(s, lid.x) / f32(D);
  var q = 0.0;
  for (var i = lid.x; i < D; i = i + WG) { let c = x[base + i] - mean; q = q + c * c; }
  let rstd = inverseSqrt(workgroup_sum(q, lid.x) / f32(D) + LN_EPS);
  let s0 = mean;
  let s1 = rstd;`;
  const normed = kind === 'rms' ? 'x[base + i] * r' : '(x[base + i] - mean) * rstd';
  return `${header(D)}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;
${bias ? '@group(0) @binding(4) var<storage, read> b: array<f32>;' : ''}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = wid.y * 65535u + wid.x;
  if (row >= arrayLength(&x) / D) { return; }
  let base = row * D;${stats}
  for (var i = lid.x; i < D; i = i + WG) {
    y[base + i] = ${normed} * ${gainOf(kind)}${bias ? ' + b[i]' : ''};
  }
  if (lid.x == 0u) { stats[2u * row] = s0; stats[2u * row + 1u] = s1; }
}`;
}

function backwardXCode(kind: NormKind, D: number): string {
  const body =
    kind === 'rms'
      ? `
  let r = stats[2u * row];
  let k = stats[2u * row + 1u];
  var sgx = 0.0;
  for (var i = lid.x; i < D; i = i + WG) { sgx = sgx + dy[base + i] * ${gainOf(kind)} * x[base + i]; }
  let tgx = workgroup_sum(sgx, lid.x);
  for (var i = lid.x; i < D; i = i + WG) {
    dx[base + i] = r * dy[base + i] * ${gainOf(kind)} - k * tgx * x[base + i];
  }`
      : `
  let mean = stats[2u * row];
  let rstd = stats[2u * row + 1u];
  var sg = 0.0;
  var sgx = 0.0;
  for (var i = lid.x; i < D; i = i + WG) {
    let g = dy[base + i] * ${gainOf(kind)};
    sg = sg + g;
    sgx = sgx + g * (x[base + i] - mean) * rstd;
  }
  let mg = workgroup_sum(sg, lid.x) / f32(D);
  let mgx = workgroup_sum(sgx, lid.x) / f32(D);
  for (var i = lid.x; i < D; i = i + WG) {
    let g = dy[base + i] * ${gainOf(kind)};
    dx[base + i] = rstd * (g - mg - (x[base + i] - mean) * rstd * mgx);
  }`;
  return `${header(D)}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = wid.y * 65535u + wid.x;
  if (row >= arrayLength(&x) / D) { return; }
  let base = row * D;${body}
}`;
}

/** Per chunk of rows, per column: Σ dy·x̂ and Σ dy, into partial[chunk][0 or 1][column]. */
function paramPartialCode(kind: NormKind, D: number): string {
  const normed = kind === 'rms' ? 'x[o] * stats[2u * row]' : '(x[o] - stats[2u * row]) * stats[2u * row + 1u]';
  return `
const D: u32 = ${D}u;
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;
@compute @workgroup_size(${COLS})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let col = gid.x;
  if (col >= D) { return; }
  let rows = arrayLength(&x) / D;
  let chunk = gid.y;
  let per = (rows + nwg.y - 1u) / nwg.y;
  var sw = 0.0;
  var sb = 0.0;
  for (var row = chunk * per; row < min(rows, (chunk + 1u) * per); row = row + 1u) {
    let o = row * D + col;
    sw = sw + dy[o] * ${normed};
    sb = sb + dy[o];
  }
  partial[(2u * chunk) * D + col] = sw;
  partial[(2u * chunk + 1u) * D + col] = sb;
}`;
}

function paramFinalCode(D: number, bias: boolean): string {
  return `
const D: u32 = ${D}u;
@group(0) @binding(0) var<storage, read> partial: array<f32>;
@group(0) @binding(1) var<storage, read_write> dw: array<f32>;
${bias ? '@group(0) @binding(2) var<storage, read_write> db: array<f32>;' : ''}
@compute @workgroup_size(${COLS})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let col = gid.x;
  if (col >= D) { return; }
  let chunks = arrayLength(&partial) / (2u * D);
  var sw = 0.0;
  var sb = 0.0;
  for (var c = 0u; c < chunks; c = c + 1u) {
    sw = sw + partial[(2u * c) * D + col];
    sb = sb + partial[(2u * c + 1u) * D + col];
  }
  dw[col] = sw;
  ${bias ? 'db[col] = sb;' : '_ = sb;'}
}`;
}

function forward(backend: WebgpuBackend, kind: NormKind, x: Tensor, w: Tensor, b: Tensor | undefined): { y: Tensor; stats: Tensor } {
  const D = x.shape[x.rank - 1] as number;
  const rows = x.size / D;
  const pipe = pipeline(backend.device, `hcprobe.norm.${kind}.fwd.${D}.${b ? 'b' : 'nob'}`, () => forwardCode(kind, D, b !== undefined));
  const y = newTensor(backend, x.shape);
  const stats = newTensor(backend, [rows, 2]);
  dispatch(backend, pipe, b ? [x, w, y, stats, b] : [x, w, y, stats], rowGroups(rows));
  return { y, stats };
}

function backward(backend: WebgpuBackend, kind: NormKind, x: Tensor, w: Tensor, stats: Tensor, dy: Tensor, bias: boolean): Tensor[] {
  const D = x.shape[x.rank - 1] as number;
  const rows = x.size / D;
  const dx = newTensor(backend, x.shape);
  dispatch(backend, pipeline(backend.device, `hcprobe.norm.${kind}.dx.${D}`, () => backwardXCode(kind, D)), [x, w, dy, stats, dx], rowGroups(rows));
  const chunks = Math.max(1, Math.min(CHUNKS, Math.ceil(rows / 64)));
  const partial = newTensor(backend, [chunks, 2, D]);
  const cols = Math.ceil(D / COLS);
  dispatch(backend, pipeline(backend.device, `hcprobe.norm.${kind}.dw.${D}`, () => paramPartialCode(kind, D)), [x, dy, stats, partial], [cols, chunks]);
  const dw = newTensor(backend, w.shape);
  const db = bias ? newTensor(backend, w.shape) : undefined;
  dispatch(backend, pipeline(backend.device, `hcprobe.norm.final.${D}.${bias ? 'b' : 'nob'}`, () => paramFinalCode(D, bias)), db ? [partial, dw, db] : [partial, dw], [cols]);
  partial.dispose();
  return db ? [dx, dw, db] : [dx, dw];
}

/**
 * The norm over the last axis as one fused program with a fused gradient, on the backend that
 * fusedBackend() returned. `w` is the gain (LayerNorm) or γ (gain, rms); `b` only for layer.
 */
export function fusedNorm(backend: WebgpuBackend, kind: NormKind, x: Tensor, w: Tensor, b?: Tensor): Tensor {
  const bias = b !== undefined;
  const f = tf.customGrad(((...args: unknown[]) => {
    const save = args.pop() as (ts: Tensor[]) => void;
    const [xx, ww, bb] = args as [Tensor, Tensor, Tensor | undefined];
    const { y, stats } = forward(backend, kind, xx, ww, bb);
    save([xx, ww, stats]);
    return {
      value: y,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xs, ws, st] = saved as [Tensor, Tensor, Tensor];
        return backward(backend, kind, xs, ws, st, dy, bias);
      },
    };
  }) as never) as unknown as (...t: Tensor[]) => Tensor;
  return bias ? f(x, w, b) : f(x, w);
}
