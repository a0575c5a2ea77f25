// Token and position embedding, expanded into n streams (docs/model.md §1.6), per token i with id
// x_i at position p_i = i mod T:
//   h⁰_i = wte[x_i] + wpe[p_i],   H⁰_{i,s} = h⁰_i (copy) | h⁰_i ⊙ λ_s (lss, noise) | h⁰_i + e_s (stream-embed)
// Backward, from dH⁰:
//   dh⁰_i = Σ_s dH⁰_{i,s} (⊙ λ_s for lss and noise)                        one dispatch per token
//   dλ_s = Σ_i h⁰_i ⊙ dH⁰_{i,s} (lss),  de_s = Σ_i dH⁰_{i,s} (stream-embed)   column sums
//   dwpe[p] = Σ_b dh⁰_{b·T+p}                                              column sums over the batch
//   dwte[v] += Σ_{i: x_i = v} dh⁰_i                                          one workgroup per vocabulary row
// The last is a scatter-add without atomics: the host counting-sorts the token ids when it uploads
// them (`embeddingIndex`), so row v's occurrences are order[starts[v] .. starts[v+1]), summed in
// token order; the sum is added to dwte, which may already hold the unembedding's gradient (tied).
// Layouts: ids u32 [B·T], wte [V, d], wpe [≥T, d], λ/e [n, d], H⁰ [B·T, n, d], dh⁰ [B·T, d].
/// <reference types="@webgpu/types" />
import type { StepProgram } from './step-program.ts';
import { cachedPipeline } from './step-program.ts';
import { checkBindings } from './binding-size.ts';
import { recordColumnSum } from './column-sum.ts';

export type StreamExpansion = 'copy' | 'lss' | 'noise' | 'stream-embed';

export interface EmbeddingSpec {
  batch: number;
  seqLen: number;
  vocab: number;
  dModel: number;
  nStreams: number;
  expansion: StreamExpansion;
}

const WG = 64;

function resolve(spec: EmbeddingSpec) {
  const { batch, seqLen, vocab, dModel: d, nStreams: n, expansion } = spec;
  if (![batch, seqLen, vocab, d, n].every((v) => Number.isInteger(v) && v >= 1)) {
    throw new Error(`embedding: batch ${batch}, seqLen ${seqLen}, vocab ${vocab}, dModel ${d}, nStreams ${n} must be positive integers`);
  }
  if (!['copy', 'lss', 'noise', 'stream-embed'].includes(expansion)) throw new Error(`embedding: unknown stream expansion ${expansion}`);
  return { tokens: batch * seqLen, batch, seqLen, vocab, d, n, expansion };
}
type Resolved = ReturnType<typeof resolve>;

const groups = (count: number): [number, number] => [Math.min(count, 65535), Math.ceil(count / 65535)];
const scaled = (s: Resolved) => s.expansion === 'lss' || s.expansion === 'noise';
const U32 = new Set(['ids', 'order', 'starts']);

/**
 * The bindings each variant reads and writes, in @binding order. Pipelines use layout 'auto', which
 * drops bindings a shader never touches, so each variant declares (and is given) only its own.
 */
const forwardBindings = (s: Resolved) => ['ids', 'wte', 'wpe', ...(s.expansion === 'copy' ? [] : ['p']), 'out'];
const tokenBackwardBindings = (s: Resolved) => ['ids', ...(s.expansion === 'lss' ? ['wte', 'wpe'] : []), ...(scaled(s) ? ['p'] : []), 'dout', 'dh', ...(s.expansion === 'lss' ? ['prod'] : [])];
const declare = (names: readonly string[]) => names.map((n, i) => `@group(0) @binding(${i}) var<storage, read_write> ${n}: array<${U32.has(n) ? 'u32' : 'f32'}>;`).join('\n');

const consts = (s: Resolved) => `
const TOKENS: u32 = ${s.tokens}u;
const T: u32 = ${s.seqLen}u;
const V: u32 = ${s.vocab}u;
const D: u32 = ${s.d}u;
const N: u32 = ${s.n}u;
const WG: u32 = ${WG}u;`;

function forwardCode(s: Resolved): string {
  const per = s.expansion === 'copy' ? 'h' : s.expansion === 'stream-embed' ? 'h + p[u * D + c]' : 'h * p[u * D + c]';
  return /* wgsl */ `${consts(s)}
${declare(forwardBindings(s))}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = wid.y * 65535u + wid.x;
  if (i >= TOKENS) { return; }
  let row = min(ids[i], V - 1u);
  let pos = i % T;
  for (var c = lid.x; c < D; c = c + WG) {
    let h = wte[row * D + c] + wpe[pos * D + c];
    for (var u = 0u; u < N; u = u + 1u) { out[(i * N + u) * D + c] = ${per}; }
  }
}`;
}

/** dh⁰ per token; for lss also the products h⁰ ⊙ dH⁰ that dλ sums. */
function tokenBackwardCode(s: Resolved): string {
  const lss = s.expansion === 'lss';
  return /* wgsl */ `${consts(s)}
${declare(tokenBackwardBindings(s))}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = wid.y * 65535u + wid.x;
  if (i >= TOKENS) { return; }
  let row = min(ids[i], V - 1u);
  let pos = i % T;
  for (var c = lid.x; c < D; c = c + WG) {
    ${lss ? 'let h = wte[row * D + c] + wpe[pos * D + c];' : ''}
    var g = 0.0;
    for (var u = 0u; u < N; u = u + 1u) {
      let du = dout[(i * N + u) * D + c];
      g = g + ${scaled(s) ? 'du * p[u * D + c]' : 'du'};
      ${lss ? 'prod[(i * N + u) * D + c] = h * du;' : ''}
    }
    dh[i * D + c] = g;
  }
}`;
}

/** dwte[v] += Σ of dh⁰ over v's occurrences, in token order; one workgroup per vocabulary row. */
function scatterCode(s: Resolved): string {
  return /* wgsl */ `${consts(s)}
${declare(['order', 'starts', 'dh', 'dwte'])}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let v = wid.y * 65535u + wid.x;
  if (v >= V) { return; }
  let first = starts[v];
  let last = starts[v + 1u];
  if (first == last) { return; }
  for (var c = lid.x; c < D; c = c + WG) {
    var acc = 0.0;
    for (var k = first; k < last; k = k + 1u) { acc = acc + dh[order[k] * D + c]; }
    dwte[v * D + c] = dwte[v * D + c] + acc;
  }
}`;
}

const key = (s: Resolved, part: string) => `embed.${part}.${s.expansion}.${s.batch}x${s.seqLen}x${s.vocab}x${s.d}x${s.n}`;

/**
 * The host's part of the backward: token positions sorted by id (stable) and, per vocabulary row,
 * where its run starts; both go to the device as u32 with the ids.
 */
export function embeddingIndex(ids: ArrayLike<number>, vocab: number): { order: Uint32Array; starts: Uint32Array } {
  const starts = new Uint32Array(vocab + 1);
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i] as number;
    if (!Number.isInteger(v) || v < 0 || v >= vocab) throw new Error(`embedding: token id ${v} at position ${i} is outside the vocabulary of ${vocab}`);
    starts[v + 1] = (starts[v + 1] as number) + 1;
  }
  for (let v = 0; v < vocab; v++) starts[v + 1] = (starts[v + 1] as number) + (starts[v] as number);
  const next = starts.slice(0, vocab);
  const order = new Uint32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i] as number;
    order[next[v] as number] = i;
    next[v] = (next[v] as number) + 1;
  }
  return { order, starts };
}

export interface EmbeddingForwardOperands {
  ids: GPUBufferBinding;
  wte: GPUBufferBinding;
  wpe: GPUBufferBinding;
  /** λ (lss), the noise scales or e (stream-embed), [n, d]; unused (any binding) for copy. */
  streams: GPUBufferBinding;
  out: GPUBufferBinding;
}

/** H⁰ from the ids: one dispatch. Ids past the vocabulary read its last row (embeddingIndex rejects them). */
export function recordEmbeddingForward(program: StepProgram, label: string, spec: EmbeddingSpec, ops: EmbeddingForwardOperands): void {
  const s = resolve(spec);
  checkBindings(label, { ...ops }, { ids: s.tokens, wte: s.vocab * s.d, wpe: s.seqLen * s.d, streams: s.expansion === 'copy' ? 1 : s.n * s.d, out: s.tokens * s.n * s.d });
  const bind: Record<string, GPUBufferBinding> = { ids: ops.ids, wte: ops.wte, wpe: ops.wpe, p: ops.streams, out: ops.out };
  program.dispatch(label, cachedPipeline(program.device, key(s, 'fwd'), () => forwardCode(s)), forwardBindings(s).map((n) => bind[n] as GPUBufferBinding), groups(s.tokens));
}

export interface EmbeddingBackwardOperands extends EmbeddingForwardOperands {
  /** dH⁰ [B·T, n, d]. */
  dout: GPUBufferBinding;
  /** Scratch dh⁰ [B·T, d]. */
  dh: GPUBufferBinding;
  /** Scratch [B·T, n, d] for lss' products; unused (any binding) otherwise. */
  prod: GPUBufferBinding;
  /** u32 from embeddingIndex. */
  order: GPUBufferBinding;
  starts: GPUBufferBinding;
  /** ∂wte, added to; ∂wpe, its first T rows written; ∂λ or ∂e written (lss, stream-embed). */
  dwte: GPUBufferBinding;
  dwpe: GPUBufferBinding;
  dstreams?: GPUBufferBinding;
  /** Scratch for the column sums' chunks (chunks × n·d floats) when `chunks` > 1. */
  partial?: GPUBufferBinding;
}

/**
 * dh⁰ (1 dispatch), ∂λ or ∂e (column sums: 1, or 2 with chunks), ∂wpe (column sums over the batch:
 * 1) and the ∂wte scatter-add (1). `chunks` splits the tokens of ∂λ/∂e's sums.
 */
export function recordEmbeddingBackward(program: StepProgram, label: string, spec: EmbeddingSpec, ops: EmbeddingBackwardOperands, chunks = 1): void {
  const s = resolve(spec);
  const nd = s.n * s.d;
  const grad = s.expansion === 'lss' || s.expansion === 'stream-embed';
  checkBindings(label, { ...ops }, {
    ids: s.tokens, wte: s.vocab * s.d, wpe: s.seqLen * s.d, streams: s.expansion === 'copy' ? 1 : nd, dout: s.tokens * nd,
    dh: s.tokens * s.d, prod: s.expansion === 'lss' ? s.tokens * nd : 1, order: s.tokens, starts: s.vocab + 1, dwte: s.vocab * s.d, dwpe: s.seqLen * s.d,
  });
  if (grad && !ops.dstreams) throw new Error(`${label}: ${s.expansion} needs a dstreams binding for its parameter's gradient`);
  const bind: Record<string, GPUBufferBinding> = { ids: ops.ids, wte: ops.wte, wpe: ops.wpe, p: ops.streams, dout: ops.dout, dh: ops.dh, prod: ops.prod };
  program.dispatch(`${label} (dh)`, cachedPipeline(program.device, key(s, 'bwd'), () => tokenBackwardCode(s)), tokenBackwardBindings(s).map((n) => bind[n] as GPUBufferBinding), groups(s.tokens));
  if (grad) {
    const src = s.expansion === 'lss' ? ops.prod : ops.dout;
    recordColumnSum(program, `${label} (d${s.expansion === 'lss' ? 'λ' : 'e'})`, { rows: s.tokens, cols: nd, chunks }, { x: src, out: ops.dstreams as GPUBufferBinding, ...(chunks > 1 ? { partial: ops.partial } : {}) });
  }
  recordColumnSum(program, `${label} (dwpe)`, { rows: s.batch, cols: s.seqLen * s.d }, { x: ops.dh, out: ops.dwpe });
  program.dispatch(`${label} (dwte)`, cachedPipeline(program.device, key(s, 'scatter'), () => scatterCode(s)), [ops.order, ops.starts, ops.dh, ops.dwte], groups(s.vocab));
}
