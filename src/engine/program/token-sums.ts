// Sums over tokens of per-token gradient contributions, split into several parameters' gradients:
// contrib [T, K] holds, per token, the contributions to outputs 0, 1, … laid side by side (widths
// w₀, w₁, …, Σw = K). The columns are summed over token chunks into partial [chunks, K] (one
// dispatch), then the chunk sums, in chunk order, are written to each output's own binding (one
// dispatch). Deterministic, without atomics; used by the coefficient kernels for their small
// parameters (scales, static α and β), which live in separate slices of the gradient arena.
/// <reference types="@webgpu/types" />
import type { StepProgram } from './step-program.ts';
import { cachedPipeline } from './step-program.ts';
import { checkBindings } from './binding-size.ts';

export interface TokenSumSpec {
  tokens: number;
  /** Width of each output, in contrib's column order. */
  widths: readonly number[];
  chunks: number;
}

const WG = 64;

function resolve(spec: TokenSumSpec) {
  const { tokens, widths, chunks } = spec;
  if (!Number.isInteger(tokens) || tokens < 1) throw new Error(`token sums: tokens ${tokens} must be a positive integer`);
  if (widths.length < 1 || widths.some((w) => !Number.isInteger(w) || w < 1)) throw new Error(`token sums: widths [${widths}] must be positive integers`);
  if (!Number.isInteger(chunks) || chunks < 1 || chunks > tokens) throw new Error(`token sums: ${chunks} chunks for ${tokens} tokens`);
  const starts = widths.map((_, i) => widths.slice(0, i).reduce((a, w) => a + w, 0));
  return { tokens, widths, chunks, starts, K: widths.reduce((a, w) => a + w, 0) };
}

function partialCode(s: ReturnType<typeof resolve>): string {
  return /* wgsl */ `
const TOKENS: u32 = ${s.tokens}u;
const K: u32 = ${s.K}u;
const PER: u32 = ${Math.ceil(s.tokens / s.chunks)}u;
@group(0) @binding(0) var<storage, read_write> contrib: array<f32>;
@group(0) @binding(1) var<storage, read_write> partial: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let col = gid.x;
  if (col >= K) { return; }
  var acc = 0.0;
  for (var r = gid.y * PER; r < min(TOKENS, (gid.y + 1u) * PER); r = r + 1u) { acc = acc + contrib[r * K + col]; }
  partial[gid.y * K + col] = acc;
}`;
}

function finalCode(s: ReturnType<typeof resolve>): string {
  const decls = s.widths.map((_, i) => `@group(0) @binding(${i + 1}) var<storage, read_write> out${i}: array<f32>;`).join('\n');
  const branches = s.widths.map((w, i) => `if (col < ${(s.starts[i] as number) + w}u) { out${i}[col - ${s.starts[i]}u] = acc; return; }`).join('\n  ');
  return /* wgsl */ `
const K: u32 = ${s.K}u;
const CHUNKS: u32 = ${s.chunks}u;
@group(0) @binding(0) var<storage, read_write> partial: array<f32>;
${decls}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let col = gid.x;
  if (col >= K) { return; }
  var acc = 0.0;
  for (var c = 0u; c < CHUNKS; c = c + 1u) { acc = acc + partial[c * K + col]; }
  ${branches}
}`;
}

/** Two dispatches: chunk sums into `partial` [chunks, K], then each output's columns into its binding. */
export function recordTokenSums(program: StepProgram, label: string, spec: TokenSumSpec, ops: { contrib: GPUBufferBinding; partial: GPUBufferBinding; outs: readonly GPUBufferBinding[] }): void {
  const s = resolve(spec);
  if (ops.outs.length !== s.widths.length) throw new Error(`${label}: ${ops.outs.length} outputs for ${s.widths.length} widths`);
  checkBindings(label, { contrib: ops.contrib, partial: ops.partial, ...Object.fromEntries(ops.outs.map((b, i) => [`output ${i}`, b])) }, {
    contrib: s.tokens * s.K, partial: s.chunks * s.K, ...Object.fromEntries(s.widths.map((w, i) => [`output ${i}`, w])),
  });
  const key = `token-sums.${s.tokens}.${s.widths.join('-')}.c${s.chunks}`;
  const cols = Math.ceil(s.K / WG);
  program.dispatch(`${label} (chunks)`, cachedPipeline(program.device, `${key}.partial`, () => partialCode(s)), [ops.contrib, ops.partial], [cols, s.chunks]);
  program.dispatch(`${label} (sums)`, cachedPipeline(program.device, `${key}.final`, () => finalCode(s)), [ops.partial, ...ops.outs], [cols]);
}

/** Chunks that keep ≥ 64 tokens per chunk, at most 64. */
export const tokenSumChunks = (tokens: number): number => Math.max(1, Math.min(64, Math.ceil(tokens / 64)));
