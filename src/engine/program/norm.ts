// The row norms of the model inside a step program, forward and backward (model/norms.ts):
// layer: (x−μ)·rstd·w (+b), rstd = 1/√(var+1e-5) with the biased variance; gain: the same with
// (γ+1); rms: x·r·(γ+1), r = √D / max(‖x‖, 1e-12) (F.normalize·√D). Forward: one workgroup per
// row, also keeping two statistics per row. Backward: dx per row,
//   layer/gain: dx = rstd·(g − mean(g) − x̂·mean(g·x̂)),  g = dy·gain;
//   rms:        dx = r·g − (r/‖x‖²)·(Σ g·x)·x  (no second term where the floor holds);
// and dw = Σ_rows dy·x̂, db = Σ_rows dy as column sums (row chunks, then a fixed-order final sum).
/// <reference types="@webgpu/types" />
import type { StepProgram } from './step-program.ts';
import { cachedPipeline } from './step-program.ts';
import { checkBindings } from './binding-size.ts';

export type NormKind = 'layer' | 'gain' | 'rms';

export interface NormSpec {
  kind: NormKind;
  rows: number;
  /** D, the normalised width */
  cols: number;
  /** layer only: y = … + b */
  bias?: boolean;
  /** Row chunks of the parameter-gradient sums (default: about 128 rows each, at most 64). */
  chunks?: number;
  /** dw (and db) += the sums rather than = (gradient accumulation over micro-batches). */
  accumulateParams?: boolean;
  /** dx += rather than = (the residual stream's gradient, which the norm's input also feeds on). */
  accumulateDx?: boolean;
}

const WG = 256;
const COLS_WG = 64;

function resolve(spec: NormSpec) {
  const r = {
    kind: spec.kind,
    rows: spec.rows,
    cols: spec.cols,
    bias: spec.bias ?? false,
    chunks: spec.chunks ?? Math.max(1, Math.min(64, Math.floor(spec.rows / 128))),
    accumulateParams: spec.accumulateParams ?? false,
    accumulateDx: spec.accumulateDx ?? false,
  };
  if (![r.rows, r.cols, r.chunks].every((v) => Number.isInteger(v) && v >= 1)) throw new Error(`norm: rows ${r.rows}, cols ${r.cols}, chunks ${r.chunks} must be positive integers`);
  if (r.chunks > r.rows) throw new Error(`norm: ${r.chunks} chunks for ${r.rows} rows`);
  if (r.bias && r.kind !== 'layer') throw new Error(`norm: a bias is only defined for kind "layer", got "${r.kind}"`);
  return r;
}
type Resolved = ReturnType<typeof resolve>;

/** Workgroups for one per row, within 65,535 per dimension: row = y·65535 + x. */
const rowGroups = (rows: number): [number, number] => [Math.min(rows, 65535), Math.ceil(rows / 65535)];

const gain = (kind: NormKind) => (kind === 'layer' ? 'w[i]' : '(w[i] + 1.0)');

function header(s: Resolved): string {
  return /* wgsl */ `
const ROWS: u32 = ${s.rows}u;
const D: u32 = ${s.cols}u;
const WG: u32 = ${WG}u;
var<workgroup> red: array<f32, ${WG}>;
// Σ v over the workgroup; called in uniform control flow (the row is the workgroup's).
fn wg_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h = h / 2u) {
    if (lid < h) { red[lid] = red[lid] + red[lid + h]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}`;
}

function forwardCode(s: Resolved): string {
  const stats =
    s.kind === 'rms'
      ? `
  var q = 0.0;
  for (var i = lid.x; i < D; i = i + WG) { let v = x[base + i]; q = q + v * v; }
  let ss = wg_sum(q, lid.x);
  let r = inverseSqrt(max(ss, 1e-24)) * sqrt(f32(D));
  let s0 = r;
  let s1 = select(0.0, r / ss, ss >= 1e-24);`
      : `
  var t = 0.0;
  for (var i = lid.x; i < D; i = i + WG) { t = t + x[base + i]; }
  let mean = wg_sum(t, lid.x) / f32(D);
  var q = 0.0;
  for (var i = lid.x; i < D; i = i + WG) { let c = x[base + i] - mean; q = q + c * c; }
  let rstd = inverseSqrt(wg_sum(q, lid.x) / f32(D) + 1e-5);
  let s0 = mean;
  let s1 = rstd;`;
  const normed = s.kind === 'rms' ? 'x[base + i] * r' : '(x[base + i] - mean) * rstd';
  return /* wgsl */ `${header(s)}
@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;
${s.bias ? '@group(0) @binding(4) var<storage, read_write> b: array<f32>;' : ''}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = wid.y * 65535u + wid.x;
  if (row >= ROWS) { return; }
  let base = row * D;${stats}
  for (var i = lid.x; i < D; i = i + WG) { y[base + i] = ${normed} * ${gain(s.kind)}${s.bias ? ' + b[i]' : ''}; }
  if (lid.x == 0u) { stats[2u * row] = s0; stats[2u * row + 1u] = s1; }
}`;
}

function backwardXCode(s: Resolved): string {
  const body =
    s.kind === 'rms'
      ? `
  let r = stats[2u * row];
  let k = stats[2u * row + 1u];
  var t = 0.0;
  for (var i = lid.x; i < D; i = i + WG) { t = t + dy[base + i] * ${gain(s.kind)} * x[base + i]; }
  let gx = wg_sum(t, lid.x);
  for (var i = lid.x; i < D; i = i + WG) { dx[base + i] = ${s.accumulateDx ? 'dx[base + i] + ' : ''}r * dy[base + i] * ${gain(s.kind)} - k * gx * x[base + i]; }`
      : `
  let mean = stats[2u * row];
  let rstd = stats[2u * row + 1u];
  var tg = 0.0;
  var tgx = 0.0;
  for (var i = lid.x; i < D; i = i + WG) {
    let g = dy[base + i] * ${gain(s.kind)};
    tg = tg + g;
    tgx = tgx + g * (x[base + i] - mean) * rstd;
  }
  let mg = wg_sum(tg, lid.x) / f32(D);
  let mgx = wg_sum(tgx, lid.x) / f32(D);
  for (var i = lid.x; i < D; i = i + WG) {
    let g = dy[base + i] * ${gain(s.kind)};
    dx[base + i] = ${s.accumulateDx ? 'dx[base + i] + ' : ''}rstd * (g - mg - (x[base + i] - mean) * rstd * mgx);
  }`;
  return /* wgsl */ `${header(s)}
@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = wid.y * 65535u + wid.x;
  if (row >= ROWS) { return; }
  let base = row * D;${body}
}`;
}

/** Per row chunk and column: Σ dy·x̂ and Σ dy, to partial[chunk][0|1][col] (or straight to dw, db). */
function paramCode(s: Resolved): string {
  const direct = s.chunks === 1;
  const normed = s.kind === 'rms' ? 'x[o] * stats[2u * r]' : '(x[o] - stats[2u * r]) * stats[2u * r + 1u]';
  const op = s.accumulateParams ? '+=' : '=';
  const write = direct
    ? `dw[c] ${op} sw;${s.bias ? ` db[c] ${op} sb;` : ' _ = sb;'}`
    : 'partial[(2u * wid.y) * D + c] = sw; partial[(2u * wid.y + 1u) * D + c] = sb;';
  const outs = direct
    ? `@group(0) @binding(3) var<storage, read_write> dw: array<f32>;${s.bias ? '\n@group(0) @binding(4) var<storage, read_write> db: array<f32>;' : ''}`
    : '@group(0) @binding(3) var<storage, read_write> partial: array<f32>;';
  return /* wgsl */ `
const ROWS: u32 = ${s.rows}u;
const D: u32 = ${s.cols}u;
const PER: u32 = ${Math.ceil(s.rows / s.chunks)}u;
@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> stats: array<f32>;
@group(0) @binding(2) var<storage, read_write> dy: array<f32>;
${outs}
@compute @workgroup_size(${COLS_WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let c = gid.x;
  if (c >= D) { return; }
  var sw = 0.0;
  var sb = 0.0;
  for (var r = wid.y * PER; r < min(ROWS, (wid.y + 1u) * PER); r = r + 1u) {
    let o = r * D + c;
    sw = sw + dy[o] * ${normed};
    sb = sb + dy[o];
  }
  ${write}
}`;
}

function paramFinalCode(s: Resolved): string {
  const op = s.accumulateParams ? '+=' : '=';
  return /* wgsl */ `
const D: u32 = ${s.cols}u;
const CHUNKS: u32 = ${s.chunks}u;
@group(0) @binding(0) var<storage, read_write> partial: array<f32>;
@group(0) @binding(1) var<storage, read_write> dw: array<f32>;
${s.bias ? '@group(0) @binding(2) var<storage, read_write> db: array<f32>;' : ''}
@compute @workgroup_size(${COLS_WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= D) { return; }
  var sw = 0.0;
  var sb = 0.0;
  for (var k = 0u; k < CHUNKS; k = k + 1u) {
    sw = sw + partial[(2u * k) * D + c];
    sb = sb + partial[(2u * k + 1u) * D + c];
  }
  dw[c] ${op} sw;
  ${s.bias ? `db[c] ${op} sb;` : '_ = sb;'}
}`;
}

const key = (s: Resolved, part: string) => `norm.${s.kind}.${part}.${s.rows}x${s.cols}${s.bias ? '.b' : ''}.c${s.chunks}${s.accumulateParams ? '.acc' : ''}${s.accumulateDx ? '.accdx' : ''}`;

/** y = norm(x) and the row statistics (2 floats per row, for the backward). One dispatch. */
export function recordNormForward(program: StepProgram, label: string, spec: NormSpec, ops: { x: GPUBufferBinding; w: GPUBufferBinding; b?: GPUBufferBinding; y: GPUBufferBinding; stats: GPUBufferBinding }): void {
  const s = resolve(spec);
  const n = s.rows * s.cols;
  checkBindings(label, ops, { x: n, w: s.cols, y: n, stats: 2 * s.rows, ...(s.bias ? { b: s.cols } : {}) });
  const pipe = cachedPipeline(program.device, key(s, 'fwd'), () => forwardCode(s));
  program.dispatch(label, pipe, [ops.x, ops.w, ops.y, ops.stats, ...(s.bias ? [ops.b as GPUBufferBinding] : [])], rowGroups(s.rows));
}

/**
 * dx, and dw (and db) as column sums: two dispatches with one chunk, three with more (then
 * `partial` holds chunks × 2 × cols floats of scratch).
 */
export function recordNormBackward(
  program: StepProgram,
  label: string,
  spec: NormSpec,
  ops: { x: GPUBufferBinding; w: GPUBufferBinding; stats: GPUBufferBinding; dy: GPUBufferBinding; dx: GPUBufferBinding; dw: GPUBufferBinding; db?: GPUBufferBinding; partial?: GPUBufferBinding },
): void {
  const s = resolve(spec);
  const n = s.rows * s.cols;
  checkBindings(label, ops, { x: n, w: s.cols, stats: 2 * s.rows, dy: n, dx: n, dw: s.cols, ...(s.bias ? { db: s.cols } : {}), ...(s.chunks > 1 ? { partial: 2 * s.chunks * s.cols } : {}) });
  const dev = program.device;
  program.dispatch(`${label} dx`, cachedPipeline(dev, key(s, 'dx'), () => backwardXCode(s)), [ops.x, ops.w, ops.stats, ops.dy, ops.dx], rowGroups(s.rows));
  const groups = Math.ceil(s.cols / COLS_WG);
  const params = cachedPipeline(dev, key(s, 'dw'), () => paramCode(s));
  const dwdb = [ops.dw, ...(s.bias ? [ops.db as GPUBufferBinding] : [])];
  if (s.chunks === 1) {
    program.dispatch(`${label} dw`, params, [ops.x, ops.stats, ops.dy, ...dwdb], [groups, 1]);
    return;
  }
  program.dispatch(`${label} dw (chunks)`, params, [ops.x, ops.stats, ops.dy, ops.partial as GPUBufferBinding], [groups, s.chunks]);
  program.dispatch(`${label} dw (final)`, cachedPipeline(dev, key(s, 'dwfinal'), () => paramFinalCode(s)), [ops.partial as GPUBufferBinding, ...dwdb], [groups]);
}
