// fp32 GEMM for the step program: C[b] = op(A[b])·op(B[b]) (+ bias) (+ C[b] when accumulating),
// row-major, op = identity or transpose. Forward y = x·W is NN, dX = dY·Wᵀ is NT, dW = Xᵀ·dY is
// TN. A workgroup of 16×16 invocations computes a 64×64 tile of C through 16-deep slices of
// A and B staged in workgroup memory, each invocation a 4×4 register tile (vec4 rows of B times
// the 4 A values of its rows); every load and store is bounds-checked, so any M, N, K work.
// Shapes are baked into the WGSL as constants: a step program has fixed shapes, and the compiler
// folds the checks and loop bounds. Epilogue, in this order: ·rowScale[m], +bias[n], then +C
// (accumulate), or GELU (keeping the pre-activation u), or ·gelu'(u) (the MLP's backward); with
// `depth`, the HC depth connection Ĥ[m, u] = H'[m, u] + B[m, u]·C[m] on the finished row as well.
// GELU is x·Φ(x) with erf by Abramowitz–Stegun 7.1.26 (|error| ≤ 1.5e-7), the formula tfjs' erf
// kernel uses; gelu' = Φ(x) + x·φ(x), the derivative tfjs takes of that composite.
/// <reference types="@webgpu/types" />
import type { StepProgram } from './step-program.ts';
import { cachedPipeline } from './step-program.ts';
import { floatsIn } from './binding-size.ts';

export interface GemmSpec {
  /** A is stored [K, M] (op(A) = Aᵀ) instead of [M, K]. */
  transA: boolean;
  /** B is stored [N, K] (op(B) = Bᵀ) instead of [K, N]. */
  transB: boolean;
  M: number;
  N: number;
  K: number;
  /** Independent products, one per workgroup layer z (default 1). */
  batch?: number;
  /** Row strides in elements (default: the stored matrix's column count). */
  lda?: number;
  ldb?: number;
  ldc?: number;
  /** Elements between consecutive batch items (default: the packed matrix size). */
  strideA?: number;
  strideB?: number;
  strideC?: number;
  /** Add bias[n] to every row (binding 3, N floats). */
  bias?: boolean;
  /** C += op(A)·op(B) rather than C = …; gradient accumulation into an arena. */
  accumulate?: boolean;
  /** Multiply row m by rowScale[m] (a binding of M floats per batch item, packed). */
  rowScale?: boolean;
  /**
   * gelu: C = gelu(v) and pre = v; dgelu: C = v·gelu'(pre). `pre` is a binding laid out as C
   * (same ldc and strideC).
   */
  activation?: 'gelu' | 'dgelu';
  /**
   * Also write the depth connection of an HC module from C = y (the branch output, kept for the
   * backward): Ĥ[m, u, :] = H'[m, u, :] + B[m, u]·C[m, :] for u < nStreams, with H' and Ĥ laid
   * out [M, nStreams, N] and B [M, nStreams]. Needs batch 1, ldc = N and no accumulate.
   */
  depth?: { nStreams: number };
}

/** The tile sizes: workgroup tile TILE×TILE of C, K slices of DEPTH, 4×4 per invocation. */
export const GEMM_TILE = 64;
export const GEMM_DEPTH = 16;

interface Resolved {
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
  batch: number;
  lda: number;
  ldb: number;
  ldc: number;
  strideA: number;
  strideB: number;
  strideC: number;
  bias: boolean;
  accumulate: boolean;
  rowScale: boolean;
  activation: 'none' | 'gelu' | 'dgelu';
  /** streams of the depth epilogue; 0 without it */
  depth: number;
}

/** Floats a binding must hold: the last element any batch item touches, plus one. */
function extents(s: Resolved): { a: number; b: number; c: number } {
  const a = s.transA ? (s.K - 1) * s.lda + s.M : (s.M - 1) * s.lda + s.K;
  const b = s.transB ? (s.N - 1) * s.ldb + s.K : (s.K - 1) * s.ldb + s.N;
  const c = (s.M - 1) * s.ldc + s.N;
  return { a: (s.batch - 1) * s.strideA + a, b: (s.batch - 1) * s.strideB + b, c: (s.batch - 1) * s.strideC + c };
}

export function resolveGemm(spec: GemmSpec): Resolved {
  const { transA, transB, M, N, K } = spec;
  const lda = spec.lda ?? (transA ? M : K);
  const ldb = spec.ldb ?? (transB ? K : N);
  const ldc = spec.ldc ?? N;
  const r: Resolved = {
    transA,
    transB,
    M,
    N,
    K,
    batch: spec.batch ?? 1,
    lda,
    ldb,
    ldc,
    strideA: spec.strideA ?? (transA ? K : M) * lda,
    strideB: spec.strideB ?? (transB ? N : K) * ldb,
    strideC: spec.strideC ?? M * ldc,
    bias: spec.bias ?? false,
    accumulate: spec.accumulate ?? false,
    rowScale: spec.rowScale ?? false,
    activation: spec.activation ?? 'none',
    depth: spec.depth?.nStreams ?? 0,
  };
  if (spec.depth !== undefined && (!Number.isInteger(r.depth) || r.depth < 1 || r.batch !== 1 || r.ldc !== N || r.accumulate)) throw new Error(`gemm: the depth epilogue needs nStreams ≥ 1, batch 1, ldc = N and no accumulate (got nStreams ${r.depth}, batch ${r.batch}, ldc ${r.ldc}, accumulate ${r.accumulate})`);
  if (r.accumulate && r.activation !== 'none') throw new Error(`gemm: accumulate with activation "${r.activation}" is not a defined epilogue`);
  const ints = Object.entries(r).filter(([k, v]) => typeof v === 'number' && k !== 'depth');
  const bad = ints.filter(([k, v]) => !Number.isInteger(v) || (v as number) < (k.startsWith('stride') ? 0 : 1) || (v as number) >= 2 ** 32);
  if (bad.length > 0) throw new Error(`gemm: ${bad.map(([k, v]) => `${k} = ${v}`).join(', ')} must be positive integers below 2^32`);
  if (lda < (transA ? M : K) || ldb < (transB ? K : N) || ldc < N) throw new Error(`gemm: row strides lda ${lda}, ldb ${ldb}, ldc ${ldc} shorter than the rows they step over`);
  const e = extents(r);
  if (Math.max(e.a, e.b, e.c) >= 2 ** 32) throw new Error(`gemm: indices reach ${Math.max(e.a, e.b, e.c)}, past u32`);
  return r;
}

/** A name that identifies the compiled kernel (pipelines are cached under it). */
export function gemmKey(spec: GemmSpec): string {
  const s = resolveGemm(spec);
  return `gemm.${s.transA ? 'T' : 'N'}${s.transB ? 'T' : 'N'}.${s.M}x${s.N}x${s.K}.b${s.batch}.ld${s.lda},${s.ldb},${s.ldc}.s${s.strideA},${s.strideB},${s.strideC}${s.bias ? '.bias' : ''}${s.accumulate ? '.acc' : ''}${s.rowScale ? '.rowscale' : ''}${s.activation === 'none' ? '' : `.${s.activation}`}${s.depth ? `.depth${s.depth}` : ''}`;
}

export function gemmWgsl(spec: GemmSpec): string {
  const s = resolveGemm(spec);
  const Q = GEMM_TILE / 4; // invocations per tile side, and vec4s per tile row in workgroup memory
  // Which of the 256 invocations loads which vec4 of the tile: the index along the stored row
  // runs fastest, so neighbouring invocations read neighbouring addresses.
  const aRole = s.transA ? `let qa = t % ${Q}u; let ka = t / ${Q}u;` : `let ka = t % ${GEMM_DEPTH}u; let qa = t / ${GEMM_DEPTH}u;`;
  const bRole = s.transB ? `let kb = t % ${GEMM_DEPTH}u; let qb = t / ${GEMM_DEPTH}u;` : `let qb = t % ${Q}u; let kb = t / ${Q}u;`;
  const aIndex = s.transA ? 'k * LDA + m' : 'm * LDA + k';
  const bIndex = s.transB ? 'n * LDB + k' : 'k * LDB + n';
  const slots = optionalBindings(s);
  const lines = ['var v = acc[i][j];'];
  if (s.rowScale) lines.push('v = v * row_scale[wid.z * M + m];');
  if (s.bias) lines.push('v = v + bias[n];');
  if (s.accumulate) lines.push('v = v + c[o];');
  if (s.activation === 'gelu') lines.push('pre[o] = v;', 'v = gelu(v);');
  if (s.activation === 'dgelu') lines.push('v = v * gelu_grad(pre[o]);');
  lines.push('c[o] = v;');
  if (s.depth) lines.push(`for (var u = 0u; u < ${s.depth}u; u = u + 1u) { let q = (m * ${s.depth}u + u) * N + n; hout[q] = hm[q] + wb[m * ${s.depth}u + u] * v; }`);
  return /* wgsl */ `
const M: u32 = ${s.M}u;
const N: u32 = ${s.N}u;
const K: u32 = ${s.K}u;
const LDA: u32 = ${s.lda}u;
const LDB: u32 = ${s.ldb}u;
const LDC: u32 = ${s.ldc}u;
const SA: u32 = ${s.strideA}u;
const SB: u32 = ${s.strideB}u;
const SC: u32 = ${s.strideC}u;
const TILE: u32 = ${GEMM_TILE}u;
const DEPTH: u32 = ${GEMM_DEPTH}u;
const Q: u32 = ${Q}u;

@group(0) @binding(0) var<storage, read_write> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
${slots.map((name, i) => `@group(0) @binding(${3 + i}) var<storage, read_write> ${WGSL_NAME[name]}: array<f32>;`).join('\n')}
${s.activation === 'none' ? '' : GELU_WGSL}

// [DEPTH][TILE/4]: at, bt[k * Q + q] = op(A)[4q..4q+3, k] and op(B)[k, 4q..4q+3] of the slice
var<workgroup> at: array<vec4f, ${GEMM_DEPTH * Q}>;
var<workgroup> bt: array<vec4f, ${GEMM_DEPTH * Q}>;

fn load_a(base: u32, m: u32, k: u32) -> f32 {
  if (m < M && k < K) { return a[base + ${aIndex}]; }
  return 0.0;
}

fn load_b(base: u32, k: u32, n: u32) -> f32 {
  if (k < K && n < N) { return b[base + ${bIndex}]; }
  return 0.0;
}

@compute @workgroup_size(${Q}, ${Q})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) t: u32) {
  let m0 = wid.y * TILE;
  let n0 = wid.x * TILE;
  let base_a = wid.z * SA;
  let base_b = wid.z * SB;
  ${aRole}
  ${bRole}
  var acc: array<vec4f, 4>;
  for (var k0 = 0u; k0 < K; k0 = k0 + DEPTH) {
    let ma = m0 + 4u * qa;
    at[ka * Q + qa] = vec4f(load_a(base_a, ma, k0 + ka), load_a(base_a, ma + 1u, k0 + ka), load_a(base_a, ma + 2u, k0 + ka), load_a(base_a, ma + 3u, k0 + ka));
    let nb = n0 + 4u * qb;
    bt[kb * Q + qb] = vec4f(load_b(base_b, k0 + kb, nb), load_b(base_b, k0 + kb, nb + 1u), load_b(base_b, k0 + kb, nb + 2u), load_b(base_b, k0 + kb, nb + 3u));
    workgroupBarrier();
    for (var k = 0u; k < DEPTH; k = k + 1u) {
      let av = at[k * Q + lid.y];
      let bv = bt[k * Q + lid.x];
      acc[0] = fma(vec4f(av.x), bv, acc[0]);
      acc[1] = fma(vec4f(av.y), bv, acc[1]);
      acc[2] = fma(vec4f(av.z), bv, acc[2]);
      acc[3] = fma(vec4f(av.w), bv, acc[3]);
    }
    workgroupBarrier();
  }
  let base_c = wid.z * SC;
  for (var i = 0u; i < 4u; i = i + 1u) {
    let m = m0 + 4u * lid.y + i;
    if (m >= M) { break; }
    for (var j = 0u; j < 4u; j = j + 1u) {
      let n = n0 + 4u * lid.x + j;
      if (n >= N) { break; }
      let o = base_c + m * LDC + n;
      ${lines.join('\n      ')}
    }
  }
}`;
}

// erf(z) by Abramowitz–Stegun 7.1.26, as tfjs' erf kernel; gelu'(x) = Φ(x) + x·exp(−x²/2)/√(2π).
const GELU_WGSL = /* wgsl */ `
fn erf_as(z: f32) -> f32 {
  let a = abs(z);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
  return sign(z) * (1.0 - poly * exp(-a * a));
}
fn gelu(x: f32) -> f32 { return 0.5 * x * (1.0 + erf_as(x * 0.70710678118654752)); }
fn gelu_grad(x: f32) -> f32 {
  return 0.5 * (1.0 + erf_as(x * 0.70710678118654752)) + x * exp(-0.5 * x * x) * 0.39894228040143268;
}`;

type Optional = 'bias' | 'rowScale' | 'pre' | 'streamsIn' | 'write' | 'streamsOut';
const WGSL_NAME: Record<Optional, string> = { bias: 'bias', rowScale: 'row_scale', pre: 'pre', streamsIn: 'hm', write: 'wb', streamsOut: 'hout' };

/** The optional bindings after a, b, c, in binding order. */
function optionalBindings(s: Resolved): Optional[] {
  const out: Optional[] = [];
  if (s.bias) out.push('bias');
  if (s.rowScale) out.push('rowScale');
  if (s.activation !== 'none') out.push('pre');
  if (s.depth) out.push('streamsIn', 'write', 'streamsOut');
  return out;
}

export function gemmGroups(spec: GemmSpec): [number, number, number] {
  const s = resolveGemm(spec);
  return [Math.ceil(s.N / GEMM_TILE), Math.ceil(s.M / GEMM_TILE), s.batch];
}

export interface GemmOperands {
  a: GPUBufferBinding;
  b: GPUBufferBinding;
  c: GPUBufferBinding;
  bias?: GPUBufferBinding;
  rowScale?: GPUBufferBinding;
  /** gelu: where the pre-activation is written; dgelu: where it is read. Laid out as c. */
  pre?: GPUBufferBinding;
  /** depth epilogue: H' [M, n, N], B [M, n] and Ĥ [M, n, N] */
  streamsIn?: GPUBufferBinding;
  write?: GPUBufferBinding;
  streamsOut?: GPUBufferBinding;
}

/** Records C = op(A)·op(B) … into `program`; the bindings must hold the extents the spec reaches. */
export function recordGemm(program: StepProgram, label: string, spec: GemmSpec, ops: GemmOperands): void {
  const s = resolveGemm(spec);
  const need = extents(s);
  for (const [name, n] of [['a', need.a], ['b', need.b], ['c', need.c]] as const) {
    if (floatsIn(ops[name]) < n) throw new Error(`${label}: operand ${name} holds ${floatsIn(ops[name])} floats, the product reaches ${n}`);
  }
  const slots = optionalBindings(s);
  const want: Record<Optional, number> = { bias: s.N, rowScale: s.batch * s.M, pre: need.c, streamsIn: s.M * s.depth * s.N, write: s.M * s.depth, streamsOut: s.M * s.depth * s.N };
  for (const name of Object.keys(want) as Optional[]) {
    const given = ops[name];
    if (slots.includes(name) !== (given !== undefined)) throw new Error(`${label}: the spec ${slots.includes(name) ? 'needs' : 'has no'} a ${name} binding, but one was ${given ? '' : 'not '}given`);
    if (given && floatsIn(given) < want[name]) throw new Error(`${label}: ${name} holds ${floatsIn(given)} floats, the product reaches ${want[name]}`);
  }
  const pipe = cachedPipeline(program.device, gemmKey(spec), () => gemmWgsl(spec));
  program.dispatch(label, pipe, [ops.a, ops.b, ops.c, ...slots.map((name) => ops[name] as GPUBufferBinding)], gemmGroups(spec));
}
