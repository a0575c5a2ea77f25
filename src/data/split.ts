// A corpus: a token stream with aligned per-token labels, cut into train and validation
// splits (README, Corpora). Label id −1 means "not applicable to this token".
import { ConfigError, shown } from '../errors.ts';
import type { Tokenizer } from './tokenizer.ts';

/** One latent variable: label ids index into `values`. */
export interface LabelSpec {
  name: string;
  values: string[];
}

export interface Split {
  tokens: Int32Array;
  /** name → one label id per token (same length as `tokens`); −1 = not applicable. */
  labels: Map<string, Int32Array>;
  /** Indices where a document begins, ascending. */
  docStarts?: Int32Array;
}

export interface Corpus {
  kind: 'synthetic' | 'text' | 'tokens';
  vocabSize: number;
  /** In the same order as the keys of each split's `labels`. */
  labels: LabelSpec[];
  train: Split;
  val: Split;
  tokenizer: Tokenizer;
  /** Plain JSON for config.json and manifests: kind, sizes, seed, path, tokenizer. */
  describe(): Record<string, unknown>;
}

/** Checks a validation fraction from user input: strictly between 0 and 1. */
export function checkValFraction(valFraction: number): number {
  if (!Number.isFinite(valFraction) || valFraction <= 0 || valFraction >= 1) {
    throw new ConfigError(`valFraction must be between 0 and 1 (exclusive), got ${shown(valFraction)}`);
  }
  return valFraction;
}

/**
 * Cuts a stream into train (the head) and validation (the last `valFraction` of the
 * tokens, at least one). The tail rather than a random sample keeps documents whole
 * except the one that straddles the cut, and is what nanoGPT's prepare scripts do.
 */
export function splitTail(
  whole: Split,
  valFraction: number,
  source: string,
): { train: Split; val: Split } {
  const n = whole.tokens.length;
  if (n < 2) {
    throw new ConfigError(`corpus ${shown(source)} has ${n} token(s); at least 2 are needed to split train/val`);
  }
  const nVal = Math.min(n - 1, Math.max(1, Math.round(n * valFraction)));
  const cut = n - nVal;
  return { train: sliceSplit(whole, 0, cut), val: sliceSplit(whole, cut, n) };
}

/** Tokens, labels and document starts of [start, end), as copies re-based to 0. */
export function sliceSplit(split: Split, start: number, end: number): Split {
  const labels = new Map<string, Int32Array>();
  for (const [name, ids] of split.labels) labels.set(name, ids.slice(start, end));
  const out: Split = { tokens: split.tokens.slice(start, end), labels };
  if (split.docStarts) {
    const inside = Array.from(split.docStarts).filter((d) => d >= start && d < end);
    out.docStarts = Int32Array.from(inside, (d) => d - start);
  }
  return out;
}

/** Joins per-document pieces into one stream; document starts are where each piece begins. */
export function concatSplits(pieces: readonly Split[], labelNames: readonly string[]): Split {
  let n = 0;
  for (const p of pieces) n += p.tokens.length;
  const tokens = new Int32Array(n);
  const labels = new Map<string, Int32Array>(labelNames.map((name) => [name, new Int32Array(n)]));
  const docStarts = new Int32Array(pieces.length);
  let at = 0;
  pieces.forEach((p, i) => {
    docStarts[i] = at;
    tokens.set(p.tokens, at);
    for (const name of labelNames) {
      const src = p.labels.get(name);
      const dst = labels.get(name);
      if (!src || !dst) throw new Error(`label ${name} missing from a document piece`);
      dst.set(src, at);
    }
    at += p.tokens.length;
  });
  return { tokens, labels, docStarts };
}
