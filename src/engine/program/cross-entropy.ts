// Softmax cross-entropy over the vocabulary, one workgroup per token row, with the gradient
// written over the logits in place (the logits are not needed after it):
//   loss_t = logsumexp(z_t) − z_t[y_t],   z_t ← scale·(softmax(z_t) − onehot(y_t)).
// `scale` is 1/(tokens in the step) for a mean loss (1/(accum·B·T) with accumulation). Per-row
// losses go to `losses`; their mean is a column sum away. Targets are u32 in a buffer of their
// own (the arenas hold f32).
/// <reference types="@webgpu/types" />
import type { StepProgram } from './step-program.ts';
import { cachedPipeline } from './step-program.ts';
import { bytesIn } from './binding-size.ts';

export interface CrossEntropySpec {
  rows: number;
  vocab: number;
  /** multiplies the written gradient (not the losses) */
  scale: number;
}

const WG = 256;

function resolve(spec: CrossEntropySpec) {
  const { rows, vocab, scale } = spec;
  if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(vocab) || vocab < 1) throw new Error(`cross-entropy: rows ${rows} and vocab ${vocab} must be positive integers`);
  if (!Number.isFinite(scale)) throw new Error(`cross-entropy: scale must be finite, got ${scale}`);
  return { rows, vocab, scale };
}

function code(s: ReturnType<typeof resolve>): string {
  return /* wgsl */ `
const ROWS: u32 = ${s.rows}u;
const V: u32 = ${s.vocab}u;
const WG: u32 = ${WG}u;
const SCALE: f32 = ${s.scale};
@group(0) @binding(0) var<storage, read_write> z: array<f32>;
@group(0) @binding(1) var<storage, read_write> targets: array<u32>;
@group(0) @binding(2) var<storage, read_write> losses: array<f32>;
var<workgroup> red: array<f32, ${WG}>;
// op 0: max, 1: sum; over the workgroup, in uniform control flow
fn reduce(v: f32, lid: u32, op: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w = w / 2u) {
    if (lid < w) { red[lid] = select(red[lid] + red[lid + w], max(red[lid], red[lid + w]), op == 0u); }
    workgroupBarrier();
  }
  let out = red[0];
  workgroupBarrier();
  return out;
}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = wid.y * 65535u + wid.x;
  if (row >= ROWS) { return; }
  let base = row * V;
  var m = -3.0e38;
  for (var i = lid.x; i < V; i = i + WG) { m = max(m, z[base + i]); }
  m = reduce(m, lid.x, 0u);
  var t = 0.0;
  for (var i = lid.x; i < V; i = i + WG) { t = t + exp(z[base + i] - m); }
  let sum = reduce(t, lid.x, 1u);
  let y = targets[row];
  if (lid.x == 0u) { losses[row] = m + log(sum) - z[base + y]; }
  workgroupBarrier();
  for (var i = lid.x; i < V; i = i + WG) {
    z[base + i] = SCALE * (exp(z[base + i] - m) / sum - select(0.0, 1.0, i == y));
  }
}`;
}

/** Losses per row and the gradient over the logits: one dispatch. */
export function recordCrossEntropy(program: StepProgram, label: string, spec: CrossEntropySpec, ops: { logits: GPUBufferBinding; targets: GPUBufferBinding; losses: GPUBufferBinding }): void {
  const s = resolve(spec);
  const need: [string, GPUBufferBinding, number][] = [
    ['logits', ops.logits, 4 * s.rows * s.vocab],
    ['targets', ops.targets, 4 * s.rows],
    ['losses', ops.losses, 4 * s.rows],
  ];
  for (const [name, b, n] of need) if (bytesIn(b) < n) throw new Error(`${label}: ${name} holds ${bytesIn(b)} bytes, needs ${n}`);
  const pipe = cachedPipeline(program.device, `ce.${s.rows}x${s.vocab}.s${s.scale}`, () => code(s));
  program.dispatch(label, pipe, [ops.logits, ops.targets, ops.losses], [Math.min(s.rows, 65535), Math.ceil(s.rows / 65535)]);
}
