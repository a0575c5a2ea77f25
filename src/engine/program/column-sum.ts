// Column sums out[c] (+)= Σ_r x[r, c]: the gradients of biases, LayerNorm gains, wpe and the
// stream-init parameters are such sums over tokens. Deterministic, without float atomics: with
// `chunks` > 1 the rows are split into that many contiguous chunks whose partial sums go to a
// scratch binding, then a second dispatch adds the partials in chunk order. One invocation per
// column, so neighbouring invocations read neighbouring floats of a row.
/// <reference types="@webgpu/types" />
import type { StepProgram } from './step-program.ts';
import { cachedPipeline } from './step-program.ts';
import { floatsIn } from './binding-size.ts';

export interface ColumnSumSpec {
  rows: number;
  cols: number;
  /** Floats between consecutive rows of x (default cols). */
  ld?: number;
  /** Row chunks summed in parallel (default 1: one dispatch, no scratch). */
  chunks?: number;
  /** out += the sums rather than out = … */
  accumulate?: boolean;
}

const WG = 64;

/** Chunks that keep every chunk at ≥ 128 rows, at most 64. */
export function columnSumChunks(rows: number): number {
  return Math.max(1, Math.min(64, Math.floor(rows / 128)));
}

function resolve(spec: ColumnSumSpec) {
  const r = { rows: spec.rows, cols: spec.cols, ld: spec.ld ?? spec.cols, chunks: spec.chunks ?? 1, accumulate: spec.accumulate ?? false };
  const bad = Object.entries(r).filter(([k, v]) => k !== 'accumulate' && (!Number.isInteger(v) || (v as number) < 1));
  if (bad.length > 0) throw new Error(`column sum: ${bad.map(([k, v]) => `${k} = ${v}`).join(', ')} must be positive integers`);
  if (r.ld < r.cols) throw new Error(`column sum: ld ${r.ld} < cols ${r.cols}`);
  if (r.chunks > r.rows) throw new Error(`column sum: ${r.chunks} chunks for ${r.rows} rows`);
  return r;
}

/** Stage 1 (or the only stage): rows [chunk·per, min(rows, (chunk+1)·per)) of column c. */
function partialCode(s: ReturnType<typeof resolve>): string {
  const direct = s.chunks === 1;
  const write = direct ? (s.accumulate ? 'out[c] = out[c] + acc;' : 'out[c] = acc;') : 'partial[wid.y * COLS + c] = acc;';
  return /* wgsl */ `
const ROWS: u32 = ${s.rows}u;
const COLS: u32 = ${s.cols}u;
const LD: u32 = ${s.ld}u;
const PER: u32 = ${Math.ceil(s.rows / s.chunks)}u;
@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> ${direct ? 'out' : 'partial'}: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let c = gid.x;
  if (c >= COLS) { return; }
  var acc = 0.0;
  for (var r = wid.y * PER; r < min(ROWS, (wid.y + 1u) * PER); r = r + 1u) { acc = acc + x[r * LD + c]; }
  ${write}
}`;
}

function finalCode(s: ReturnType<typeof resolve>): string {
  return /* wgsl */ `
const COLS: u32 = ${s.cols}u;
const CHUNKS: u32 = ${s.chunks}u;
@group(0) @binding(0) var<storage, read_write> partial: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= COLS) { return; }
  var acc = 0.0;
  for (var k = 0u; k < CHUNKS; k = k + 1u) { acc = acc + partial[k * COLS + c]; }
  out[c] = ${s.accumulate ? 'out[c] + acc' : 'acc'};
}`;
}

export interface ColumnSumOperands {
  x: GPUBufferBinding;
  out: GPUBufferBinding;
  /** chunks × cols floats of scratch; only when chunks > 1. */
  partial?: GPUBufferBinding;
}

/** Records the sums: one dispatch, or two with chunks > 1. */
export function recordColumnSum(program: StepProgram, label: string, spec: ColumnSumSpec, ops: ColumnSumOperands): void {
  const s = resolve(spec);
  const need = { x: (s.rows - 1) * s.ld + s.cols, out: s.cols, partial: s.chunks * s.cols };
  if (floatsIn(ops.x) < need.x) throw new Error(`${label}: x holds ${floatsIn(ops.x)} floats, the sums read ${need.x}`);
  if (floatsIn(ops.out) < need.out) throw new Error(`${label}: out holds ${floatsIn(ops.out)} floats, cols is ${s.cols}`);
  if ((s.chunks > 1) !== (ops.partial !== undefined)) throw new Error(`${label}: ${s.chunks} chunks ${s.chunks > 1 ? 'need' : 'take no'} a partial binding`);
  if (ops.partial && floatsIn(ops.partial) < need.partial) throw new Error(`${label}: partial holds ${floatsIn(ops.partial)} floats, ${s.chunks} chunks need ${need.partial}`);
  const key = `colsum.${s.rows}x${s.cols}.ld${s.ld}.c${s.chunks}${s.accumulate ? '.acc' : ''}`;
  const groups = Math.ceil(s.cols / WG);
  const first = cachedPipeline(program.device, `${key}.partial`, () => partialCode(s));
  if (!ops.partial) {
    program.dispatch(label, first, [ops.x, ops.out], [groups, 1]);
    return;
  }
  program.dispatch(`${label} (chunks)`, first, [ops.x, ops.partial], [groups, s.chunks]);
  program.dispatch(`${label} (final)`, cachedPipeline(program.device, `${key}.final`, () => finalCode(s)), [ops.partial, ops.out], [groups]);
}
