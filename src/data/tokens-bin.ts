// A tokens corpus (README, Corpora): nanoGPT's .bin files of little-endian uint16 token ids, either
// a folder with train.bin and val.bin or one file whose tail becomes the validation split.
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { ConfigError, shown } from '../errors.ts';
import { gpt2Tokenizer } from './gpt2-tokenizer.ts';
import { type Corpus, type LabelSpec, type Split, checkValFraction, splitTail } from './split.ts';
import { TEXT_LABELS, textLabels } from './text-labels.ts';
import { type Tokenizer, idsTokenizer } from './tokenizer.ts';

export interface TokensBinOptions {
  vocabSize?: number;
  /** With 'gpt2' the ids are shown as text and get the automatic text labels. */
  tokenizer?: 'gpt2';
  /** Used only for a single file. */
  valFraction?: number;
}

export const TOKENS_BIN_DEFAULTS = {
  vocabSize: 50304, // nanoGPT's GPT-2 vocabulary padded to a multiple of 64
  valFraction: 0.1, // nanoGPT's prepare scripts hold out about this much
};

/** Reads a .bin file, or a folder holding train.bin and val.bin. */
export function tokensBinCorpus(path: string, opts: TokensBinOptions = {}): Corpus {
  const vocabSize = opts.vocabSize ?? TOKENS_BIN_DEFAULTS.vocabSize;
  if (!Number.isInteger(vocabSize) || vocabSize < 2 || vocabSize > 65536) {
    throw new ConfigError(`vocabSize for a uint16 .bin corpus must be an integer in 2..65536, got ${shown(vocabSize)}`);
  }
  const gpt2 = opts.tokenizer === 'gpt2' ? gpt2Tokenizer() : undefined;
  // Labels are computed before the cut, so a split that starts mid-document keeps its context.
  const read = (file: string): Split => {
    const tokens = readTokenIds(file, vocabSize);
    return gpt2 ? labelledByDocument(tokens) : { tokens, labels: new Map() };
  };
  const isDir = fs.existsSync(path) && fs.statSync(path).isDirectory();
  let valFraction: number | undefined;
  let train: Split;
  let val: Split;
  if (isDir) {
    train = read(nodePath.join(path, 'train.bin'));
    val = read(nodePath.join(path, 'val.bin'));
  } else {
    valFraction = checkValFraction(opts.valFraction ?? TOKENS_BIN_DEFAULTS.valFraction);
    ({ train, val } = splitTail(read(path), valFraction, path));
  }
  const tokenizer: Tokenizer = gpt2 ?? idsTokenizer(vocabSize);
  const labels: LabelSpec[] = gpt2 ? TEXT_LABELS : [];
  return {
    kind: 'tokens',
    vocabSize,
    labels,
    train,
    val,
    tokenizer,
    describe: () => ({
      kind: 'tokens',
      path,
      layout: isDir ? 'train.bin+val.bin' : 'single file',
      tokenizer: tokenizer.kind,
      vocabSize,
      trainTokens: train.tokens.length,
      valTokens: val.tokens.length,
      ...(valFraction === undefined ? {} : { valFraction }),
      labels: labels.map((l) => l.name),
    }),
  };
}

/** The ids of one .bin file, each checked against the vocabulary. */
export function readTokenIds(file: string, vocabSize: number): Int32Array {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError(`token file ${shown(file)} does not exist`);
    throw new ConfigError(`cannot read token file ${shown(file)}: ${(e as Error).message}`);
  }
  if (bytes.length % 2 !== 0) {
    throw new ConfigError(`token file ${shown(file)} has an odd length (${bytes.length} bytes); uint16 ids take 2 bytes each`);
  }
  if (bytes.length === 0) throw new ConfigError(`token file ${shown(file)} is empty`);
  const ids = new Int32Array(bytes.length / 2);
  for (let i = 0; i < ids.length; i++) {
    const id = (bytes[2 * i] ?? 0) | ((bytes[2 * i + 1] ?? 0) << 8);
    if (id >= vocabSize) {
      throw new ConfigError(
        `token file ${shown(file)} holds id ${id} at token ${i} (byte offset ${2 * i}), outside the vocabulary of ${vocabSize}`,
      );
    }
    ids[i] = id;
  }
  return ids;
}

/** GPT-2 ids split into documents after each <|endoftext|>, each labelled from its own text. */
function labelledByDocument(tokens: Int32Array): Split {
  const tok = gpt2Tokenizer();
  const eot = tok.eot ?? -1;
  const labels = new Map(TEXT_LABELS.map((l) => [l.name, new Int32Array(tokens.length)]));
  const docStarts: number[] = [];
  for (let start = 0; start < tokens.length; ) {
    let end = start;
    while (end < tokens.length && tokens[end] !== eot) end++;
    end = Math.min(tokens.length, end + 1);
    docStarts.push(start);
    const piece = textLabels(tokens.subarray(start, end), tok.tokenBytes);
    for (const [name, ids] of piece) labels.get(name)?.set(ids, start);
    start = end;
  }
  return { tokens, labels, docStarts: Int32Array.from(docStarts) };
}
