// Perplexity of a model on a nanoGPT .bin file (little-endian uint16 token ids): mean next-token
// cross-entropy over windows of blockSize + 1 tokens, every target scored once, and exp of it.
import * as fs from 'node:fs';
import { tf } from '../src/engine/tf.ts';
import { ConfigError, shown } from '../src/errors.ts';
import type { ModelConfig } from '../src/model/config.ts';
import type { Params } from '../src/model/params.ts';
import { forward } from '../src/model/transformer.ts';

/** A window of blockSize + 1 ids from `start`; the targets at positions t ≥ scoreFrom are scored. */
export interface PerplexityWindow {
  start: number;
  scoreFrom: number;
}

/**
 * Windows of T + 1 tokens starting every `stride` tokens while they fit; a last partial window is
 * dropped. stride = T + 1 (the default): non-overlapping windows, all T targets scored in each;
 * stride ≤ T: overlapping windows, each later one scoring only its last `stride` targets (those
 * the previous window did not reach), so every target is scored once with ≥ T − stride context.
 */
export function perplexityWindows(nTokens: number, T: number, stride = T + 1): PerplexityWindow[] {
  if (!Number.isInteger(stride) || stride < 1 || stride > T + 1) throw new ConfigError(`--stride must be an integer from 1 to blockSize + 1 = ${T + 1}, got ${shown(stride)}`);
  const out: PerplexityWindow[] = [];
  for (let s = 0; s + T + 1 <= nTokens; s += stride) out.push({ start: s, scoreFrom: s === 0 ? 0 : Math.max(0, T - stride) });
  return out;
}

/** The first `maxTokens` ids of a .bin file (all when absent), each checked against the vocabulary. */
export function readBinPrefix(file: string, vocabSize: number, maxTokens = Number.POSITIVE_INFINITY): { ids: Int32Array; fileTokens: number } {
  let fd: number;
  let size: number;
  try {
    if (fs.statSync(file).isDirectory()) throw new ConfigError(`--bin ${shown(file)} is a directory; give one .bin file (e.g. val.bin)`);
    fd = fs.openSync(file, 'r');
    size = fs.fstatSync(fd).size;
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(code === 'ENOENT' ? `token file ${shown(file)} does not exist` : `cannot read token file ${shown(file)}: ${(e as Error).message}`);
  }
  try {
    if (size === 0) throw new ConfigError(`token file ${shown(file)} is empty`);
    if (size % 2 !== 0) throw new ConfigError(`token file ${shown(file)} has an odd length (${size} bytes); uint16 ids take 2 bytes each`);
    const n = Math.min(size / 2, maxTokens);
    const bytes = Buffer.alloc(n * 2);
    fs.readSync(fd, bytes, 0, n * 2, 0);
    const ids = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const id = bytes.readUInt16LE(2 * i);
      if (id >= vocabSize) throw new ConfigError(`token file ${shown(file)} holds id ${id} at token ${i}, outside the model's vocabulary of ${vocabSize}`);
      ids[i] = id;
    }
    return { ids, fileTokens: size / 2 };
  } finally {
    fs.closeSync(fd);
  }
}

export interface PerplexityStats {
  windows: number;
  /** Targets scored. */
  targets: number;
  /** Tokens after the last whole window, never scored. */
  droppedTail: number;
  meanCe: number;
  perplexity: number;
}

/** Mean CE over the windows of `ids`, `batch` windows per forward; onProgress(done, total) per batch. */
export function perplexity(params: Params, c: ModelConfig, ids: Int32Array, o: { batch: number; stride?: number }, onProgress: (done: number, total: number) => void = () => {}): PerplexityStats {
  const T = c.blockSize;
  const windows = perplexityWindows(ids.length, T, o.stride);
  if (windows.length === 0) throw new ConfigError(`${ids.length} tokens are fewer than one window of blockSize + 1 = ${T + 1}`);
  const V = c.vocabSize;
  const total = Math.ceil(windows.length / o.batch);
  let nll = 0;
  let targets = 0;
  for (let b = 0; b < total; b++) {
    const ws = windows.slice(b * o.batch, (b + 1) * o.batch);
    const B = ws.length;
    const x = new Int32Array(B * T);
    const flat = new Int32Array(B * T); // index of each target's logit in the flattened logits
    ws.forEach((w, i) => {
      x.set(ids.subarray(w.start, w.start + T), i * T);
      for (let t = 0; t < T; t++) flat[i * T + t] = (i * T + t) * V + (ids[w.start + t + 1] as number);
    });
    const logp = tf.tidy(() => {
      const logits = tf.reshape(forward(params, c, tf.tensor2d(x, [B, T], 'int32')), [B * T, V]); // [B·T, V]
      const picked = tf.gather(tf.reshape(logits, [-1]), tf.tensor1d(flat, 'int32')); // [B·T]
      return tf.sub(picked, tf.logSumExp(logits, -1)).dataSync() as Float32Array; // log p(target)
    });
    ws.forEach((w, i) => {
      for (let t = w.scoreFrom; t < T; t++) nll -= logp[i * T + t] as number;
      targets += T - w.scoreFrom;
    });
    onProgress(b + 1, total);
  }
  const last = windows[windows.length - 1] as PerplexityWindow;
  const meanCe = nll / targets;
  return { windows: windows.length, targets, droppedTail: ids.length - (last.start + T + 1), meanCe, perplexity: Math.exp(meanCe) };
}
