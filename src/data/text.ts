// A text corpus (README, Corpora): one UTF-8 file, or JSONL with a string `text` per line, cut into
// tokens (bytes by default, GPT-2 BPE as an option) and labelled by text-labels.ts.
import * as fs from 'node:fs';
import { ConfigError, shown } from '../errors.ts';
import { gpt2Tokenizer } from './gpt2-tokenizer.ts';
import { type Corpus, type Split, checkValFraction, concatSplits, splitTail } from './split.ts';
import { TEXT_LABELS, textLabels } from './text-labels.ts';
import { type ByteLevelTokenizer, byteTokenizer } from './tokenizer.ts';

export interface TextOptions {
  tokenizer?: 'byte' | 'gpt2';
  /** Fraction of tokens, taken from the end, held out for validation. */
  valFraction?: number;
}

export const TEXT_DEFAULTS = {
  tokenizer: 'byte' as const, // no vocabulary file needed, and a tiny embedding table
  valFraction: 0.1, // nanoGPT's shakespeare_char split
};

/** Reads, checks, tokenizes and labels a text file; `.jsonl` files hold one document a line. */
export function textCorpus(path: string, opts: TextOptions = {}): Corpus {
  const valFraction = checkValFraction(opts.valFraction ?? TEXT_DEFAULTS.valFraction);
  const tokenizerKind = opts.tokenizer ?? TEXT_DEFAULTS.tokenizer;
  const format = path.toLowerCase().endsWith('.jsonl') ? 'jsonl' : 'text';
  const text = readUtf8(path);
  const docs = format === 'jsonl' ? jsonlTexts(text, path) : [text];
  if (docs.every((d) => d === '')) throw new ConfigError(`text corpus ${shown(path)} is empty: it has no text`);
  const tokenizer = tokenizerKind === 'gpt2' ? gpt2Tokenizer() : byteTokenizer();
  const names = TEXT_LABELS.map((l) => l.name);
  const pieces = docs.map((doc, i) => documentPiece(doc, tokenizer, i < docs.length - 1));
  const whole = concatSplits(pieces, names);
  const { train, val } = splitTail(whole, valFraction, path);
  return {
    kind: 'text',
    vocabSize: tokenizer.vocabSize,
    labels: TEXT_LABELS,
    train,
    val,
    tokenizer,
    describe: () => ({
      kind: 'text',
      path,
      format,
      documents: docs.length,
      tokenizer: tokenizer.kind,
      vocabSize: tokenizer.vocabSize,
      trainTokens: train.tokens.length,
      valTokens: val.tokens.length,
      valFraction,
      labels: names,
    }),
  };
}

/**
 * One document's tokens and labels. Documents are separated as nanoGPT does: GPT-2 puts
 * <|endoftext|> after each; bytes have no spare id, so a newline goes between documents.
 */
function documentPiece(doc: string, tokenizer: ByteLevelTokenizer, more: boolean): Split {
  const ids = tokenizer.encode(doc);
  if (more || tokenizer.eot !== undefined) ids.push(tokenizer.eot ?? 0x0a);
  return { tokens: Int32Array.from(ids), labels: textLabels(ids, tokenizer.tokenBytes) };
}

/** The file's text; a ConfigError names a missing file or the offset of the first non-UTF-8 byte. */
export function readUtf8(path: string): string {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError(`corpus file ${shown(path)} does not exist`);
    if (code === 'EISDIR') throw new ConfigError(`corpus ${shown(path)} is a directory, not a text file`);
    throw new ConfigError(`cannot read corpus file ${shown(path)}: ${(e as Error).message}`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    throw new ConfigError(
      `corpus file ${shown(path)} is not UTF-8: byte 0x${(bytes[at] ?? 0).toString(16).padStart(2, '0')} at offset ${at}`,
    );
  }
}

/** Offset of the first byte that does not belong to a well-formed UTF-8 sequence. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i] ?? 0;
    if (b < 0x80) {
      i++;
      continue;
    }
    // Second-byte ranges exclude overlong forms, surrogates and code points above U+10FFFF.
    let len = 0;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) len = 2;
    else if (b >= 0xe0 && b <= 0xef) [len, lo, hi] = [3, b === 0xe0 ? 0xa0 : 0x80, b === 0xed ? 0x9f : 0xbf];
    else if (b >= 0xf0 && b <= 0xf4) [len, lo, hi] = [4, b === 0xf0 ? 0x90 : 0x80, b === 0xf4 ? 0x8f : 0xbf];
    else return i;
    for (let k = 1; k < len; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += len;
  }
  return bytes.length;
}

/** The `text` of each non-blank line; a ConfigError names the first bad line (1-based). */
export function jsonlTexts(content: string, path: string): string[] {
  const texts: string[] = [];
  const lines = content.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      throw new ConfigError(`${shown(path)} line ${i + 1} is not JSON: ${shown(line)}`);
    }
    const text = typeof row === 'object' && row !== null ? (row as Record<string, unknown>).text : undefined;
    if (typeof text !== 'string') {
      throw new ConfigError(`${shown(path)} line ${i + 1} has no string "text" field: ${shown(line)}`);
    }
    texts.push(text);
  });
  if (texts.length === 0) throw new ConfigError(`JSONL corpus ${shown(path)} has no lines with a "text" field`);
  return texts;
}
