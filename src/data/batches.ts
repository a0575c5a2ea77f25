// Training batches and probing windows drawn from a split. A batch depends only on
// (seed, step), so a run resumed at step k sees exactly the batches it would have seen.
import { ConfigError, shown } from '../errors.ts';
import { rngFor } from '../engine/random.ts';
import type { Split } from './split.ts';

export interface BatchOptions {
  batchSize: number;
  seqLen: number;
  seed: number;
  step: number;
}

export interface Batch {
  /** [batchSize * seqLen], row-major: row b is window b. */
  tokens: Int32Array;
  /** [batchSize * seqLen]: each token's successor in the corpus. */
  targets: Int32Array;
}

export interface Window {
  /** Index of the window's first token in the split. */
  start: number;
  tokens: Int32Array;
  labels: Map<string, Int32Array>;
}

/** `batchSize` windows of seqLen + 1 tokens at uniform random starts (nanoGPT's get_batch). */
export function sampleBatch(split: Split, opts: BatchOptions): Batch {
  const { batchSize, seqLen, seed, step } = opts;
  positive('batchSize', batchSize);
  positive('seqLen', seqLen);
  if (!Number.isInteger(step) || step < 0) throw new ConfigError(`step must be an integer ≥ 0, got ${shown(step)}`);
  if (!Number.isInteger(seed)) throw new ConfigError(`seed must be an integer, got ${shown(seed)}`);
  const n = split.tokens.length;
  if (n < seqLen + 1) {
    throw new ConfigError(`split has ${n} tokens, fewer than seqLen + 1 = ${seqLen + 1} needed for one training window`);
  }
  // One generator per step: step k's batch never depends on how many steps came before.
  const rng = rngFor(seed, `batch:${step}`);
  const tokens = new Int32Array(batchSize * seqLen);
  const targets = new Int32Array(batchSize * seqLen);
  for (let b = 0; b < batchSize; b++) {
    const s = rng.int(n - seqLen);
    tokens.set(split.tokens.subarray(s, s + seqLen), b * seqLen);
    targets.set(split.tokens.subarray(s + 1, s + seqLen + 1), b * seqLen);
  }
  return { tokens, targets };
}

/**
 * Consecutive, non-overlapping windows of exactly seqLen tokens from the split's start,
 * covering at most `maxTokens` tokens; a last partial window is dropped so every window
 * has the same shape. Tokens and labels are views into the split, not copies.
 */
export function* sequentialWindows(split: Split, seqLen: number, maxTokens = Number.POSITIVE_INFINITY): Generator<Window> {
  positive('seqLen', seqLen);
  if (!(maxTokens > 0)) throw new ConfigError(`maxTokens must be positive, got ${shown(maxTokens)}`);
  const n = split.tokens.length;
  if (n < seqLen) throw new ConfigError(`split has ${n} tokens, fewer than one window of seqLen = ${seqLen}`);
  const end = Math.min(n, maxTokens);
  for (let start = 0; start + seqLen <= end; start += seqLen) {
    const labels = new Map<string, Int32Array>();
    for (const [name, ids] of split.labels) labels.set(name, ids.subarray(start, start + seqLen));
    yield { start, tokens: split.tokens.subarray(start, start + seqLen), labels };
  }
}

function positive(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new ConfigError(`${name} must be a positive integer, got ${shown(v)}`);
}
