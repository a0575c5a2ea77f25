// Autoregressive sampling, as nanoGPT's GPT.generate: the context cropped to the last blockSize
// tokens, the last position's logits divided by the temperature, only the top k kept, one draw
// from the softmax. Temperature 0 is greedy (argmax). Draws come from a seeded JS generator.
import type { Rng } from '../engine/random.ts';
import { tf } from '../engine/tf.ts';
import type { ModelConfig } from './config.ts';
import type { Params } from './params.ts';
import { forward } from './transformer.ts';

export interface SampleOptions {
  /** New tokens per sample. */
  tokens: number;
  /** 0: greedy; 1: the model's distribution; < 1 sharper, > 1 flatter. */
  temperature: number;
  /** Keep only the k most likely tokens (ties with the k-th kept too); absent: all. */
  topK?: number;
  rng: Rng;
}

/**
 * Continues each prompt in `prompts` (all of one length, at least one token) by `o.tokens`
 * tokens; returns prompt + continuation per row. The rows run as one batch, each drawing from
 * `o.rng` in row order at every step, so one seed gives one text.
 */
export function sampleTokens(params: Params, c: ModelConfig, prompts: readonly (readonly number[])[], o: SampleOptions): number[][] {
  const rows = prompts.map((p) => [...p]);
  const len = rows[0]?.length ?? 0;
  if (len === 0 || rows.some((r) => r.length !== len)) throw new Error('sampleTokens needs prompts of one length, at least one token each');
  const V = c.vocabSize;
  for (let step = 0; step < o.tokens; step++) {
    const T = Math.min(c.blockSize, len + step);
    const ctx = rows.flatMap((r) => r.slice(r.length - T));
    const last = tf.tidy(() => {
      const logits = forward(params, c, tf.tensor2d(ctx, [rows.length, T], 'int32')); // [M, T, V]
      return tf.slice(logits, [0, T - 1, 0], [-1, 1, -1]).dataSync() as Float32Array; // [M·V]
    });
    rows.forEach((r, m) => r.push(nextToken(last.subarray(m * V, (m + 1) * V), o)));
  }
  return rows;
}

/** One draw from logits [V] at the options' temperature and top k. */
export function nextToken(logits: Float32Array, o: Pick<SampleOptions, 'temperature' | 'topK' | 'rng'>): number {
  let best = 0;
  for (let v = 1; v < logits.length; v++) if ((logits[v] as number) > (logits[best] as number)) best = v;
  if (o.temperature === 0) return best;
  // nanoGPT: logits below the k-th largest are set to −∞.
  const floor = o.topK !== undefined && o.topK < logits.length ? [...logits].sort((a, b) => b - a)[o.topK - 1] as number : Number.NEGATIVE_INFINITY;
  const top = logits[best] as number;
  const p = new Float64Array(logits.length);
  let total = 0;
  for (let v = 0; v < logits.length; v++) {
    const l = logits[v] as number;
    if (l < floor) continue;
    p[v] = Math.exp((l - top) / o.temperature);
    total += p[v] as number;
  }
  let u = o.rng.next() * total;
  for (let v = 0; v < p.length; v++) {
    u -= p[v] as number;
    if (u < 0 && (p[v] as number) > 0) return v;
  }
  return best; // u rounded past the end: the most likely token
}
