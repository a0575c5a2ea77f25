// SAE inputs from a capture: one stream, the concatenation [H_1 … H_n] or the sum Σ_i H_i of
// each token's streams, split by sequence into training rows and a held-out evaluation set.
import type * as A from 'apache-arrow';
import { floatColumn, intColumn, readBatches, type StreamSelector } from '../src/capture/read.ts';
import { labelColumn, type Manifest } from '../src/capture/schema.ts';


export type SaeInput = { mode: 'per-stream'; stream: number } | { mode: 'concat' } | { mode: 'summed' };

export function inputWidth(input: SaeInput, nStreams: number, d: number): number {
  return input.mode === 'concat' ? nStreams * d : d;
}

/** Every 10th sequence is held out (split by sequence, never by token within one). */
export function isEvalSeq(seq: number, sequences: number): boolean {
  return sequences < 10 ? seq === sequences - 1 : seq % 10 === 9;
}

/** Row vectors [rows, width] for an input from per-stream arrays (each [rows, d]). */
export function inputVectors(streams: Float32Array[], rows: number, d: number, input: SaeInput): Float32Array {
  if (input.mode === 'per-stream') return streams[input.stream] as Float32Array;
  const n = streams.length;
  if (input.mode === 'summed') {
    const out = new Float32Array(rows * d);
    for (const s of streams) for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + (s[i] as number);
    return out;
  }
  const out = new Float32Array(rows * n * d);
  for (let r = 0; r < rows; r++) streams.forEach((s, i) => out.set(s.subarray(r * d, (r + 1) * d), (r * n + i) * d));
  return out;
}

function streamArrays(batch: A.RecordBatch, n: number): Float32Array[] {
  return Array.from({ length: n }, (_, i) => floatColumn(batch, `stream_${i}`));
}

/** One pass over the training rows of a capture, as chunks of input vectors [rows, width]. */
export async function* trainChunks(dir: string, m: Manifest, sel: StreamSelector, input: SaeInput): AsyncGenerator<Float32Array> {
  const d = m.stream_width ?? m.d_model; // one stream's width (frac: d/m)
  const width = inputWidth(input, m.n_streams, d);
  for await (const batch of readBatches(dir, m, sel)) {
    const seq = intColumn(batch, 'seq');
    const keep: number[] = [];
    for (let r = 0; r < seq.length; r++) if (!isEvalSeq(seq[r] as number, m.sequences)) keep.push(r);
    if (keep.length === 0) continue;
    const all = input.mode === 'per-stream' ? floatColumn(batch, `stream_${input.stream}`) : inputVectors(streamArrays(batch, m.n_streams), seq.length, d, input);
    if (keep.length === seq.length) {
      yield all;
      continue;
    }
    const out = new Float32Array(keep.length * width);
    keep.forEach((r, j) => out.set(all.subarray(r * width, (r + 1) * width), j * width));
    yield out;
  }
}

/** The held-out tokens: whole sequences in order, with their streams, tokens and labels. */
export interface EvalSet {
  rows: number;
  seqLen: number;
  seq: Int32Array;
  pos: Int32Array;
  token: Int32Array;
  /** Label name → value id per row (−1: not applicable). */
  labels: Map<string, Int32Array>;
  /** Per stream [rows, d]. */
  streams: Float32Array[];
}

/** Reads held-out sequences until `maxTokens` (whole sequences only). */
export async function readEvalSet(dir: string, m: Manifest, sel: StreamSelector, maxTokens: number): Promise<EvalSet> {
  const d = m.stream_width ?? m.d_model; // one stream's width (frac: d/m)
  const n = m.n_streams;
  const maxRows = Math.max(m.seq_len, Math.floor(maxTokens / m.seq_len) * m.seq_len);
  const cols = { seq: [] as number[], pos: [] as number[], token: [] as number[] };
  const labels = new Map(m.labels.map((l) => [l.name, [] as number[]]));
  const streams: Float32Array[] = Array.from({ length: n }, () => new Float32Array(maxRows * d));
  let rows = 0;
  for await (const batch of readBatches(dir, m, sel)) {
    const seq = intColumn(batch, 'seq');
    const pos = intColumn(batch, 'pos');
    const token = intColumn(batch, 'token');
    const lab = m.labels.map((l) => intColumn(batch, labelColumn(l.name)));
    const arrays = streamArrays(batch, n);
    for (let r = 0; r < seq.length && rows < maxRows; r++) {
      if (!isEvalSeq(seq[r] as number, m.sequences)) continue;
      cols.seq.push(seq[r] as number);
      cols.pos.push(pos[r] as number);
      cols.token.push(token[r] as number);
      m.labels.forEach((l, j) => (labels.get(l.name) as number[]).push((lab[j] as Int32Array)[r] as number));
      arrays.forEach((a, i) => (streams[i] as Float32Array).set(a.subarray(r * d, (r + 1) * d), rows * d));
      rows++;
    }
    if (rows >= maxRows) break;
  }
  return {
    rows,
    seqLen: m.seq_len,
    seq: Int32Array.from(cols.seq),
    pos: Int32Array.from(cols.pos),
    token: Int32Array.from(cols.token),
    labels: new Map([...labels].map(([k, v]) => [k, Int32Array.from(v)])),
    streams: streams.map((s) => s.slice(0, rows * d)),
  };
}
