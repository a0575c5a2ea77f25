// Tokenizers: ids ↔ text, and one token's text for display in reports. Byte-level (vocab
// 256), a fixed word list (the synthetic language) and bare ids (a .bin with no tokenizer).
import { ConfigError, shown } from '../errors.ts';

export interface Tokenizer {
  kind: 'byte' | 'gpt2' | 'synthetic' | 'ids';
  vocabSize: number;
  encode(text: string): number[];
  decode(ids: ArrayLike<number>): string;
  /** One token as readable text: whitespace and control bytes escaped. */
  tokenText(id: number): string;
}

/** A tokenizer whose tokens are byte strings: what the automatic text labels need. */
export interface ByteLevelTokenizer extends Tokenizer {
  kind: 'byte' | 'gpt2';
  /** The bytes a token stands for; undefined for special tokens and unknown ids. */
  tokenBytes(id: number): Uint8Array | undefined;
  /** End-of-text token placed after each document, when the vocabulary has one. */
  eot?: number;
}

const utf8 = new TextEncoder();
const lenient = new TextDecoder('utf-8');

/** Shows a decoded token with its whitespace visible, so a report's token is unambiguous. */
export function visible(text: string): string {
  return text.replace(/[\n\r\t]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'));
}

const BYTE_TABLE: readonly Uint8Array[] = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));

/** UTF-8 bytes as tokens: no training, no unknowns, vocab 256. */
export function byteTokenizer(): ByteLevelTokenizer {
  return {
    kind: 'byte',
    vocabSize: 256,
    encode: (text) => Array.from(utf8.encode(text)),
    decode: (ids) => lenient.decode(Uint8Array.from(ids)),
    tokenText(id) {
      if (id >= 0x20 && id < 0x7f) return String.fromCharCode(id);
      if (id === 0x0a) return '\\n';
      if (id === 0x09) return '\\t';
      return `<0x${id.toString(16).padStart(2, '0')}>`;
    },
    tokenBytes: (id) => BYTE_TABLE[id],
  };
}

/** A closed list of whole words, one token each, separated by spaces in text. */
export function wordTokenizer(words: readonly string[]): Tokenizer {
  const index = new Map(words.map((w, i) => [w, i]));
  const text = (id: number): string => words[id] ?? `<${id}>`;
  return {
    kind: 'synthetic',
    vocabSize: words.length,
    encode(s) {
      return s
        .split(/\s+/)
        .filter((w) => w !== '')
        .map((w) => {
          const id = index.get(w);
          if (id === undefined) throw new ConfigError(`word ${shown(w)} is not in the synthetic vocabulary`);
          return id;
        });
    },
    decode: (ids) => Array.from(ids, text).join(' '),
    tokenText: text,
  };
}

/** No tokenizer known: ids shown as `#id`, text encoded as whitespace-separated integers. */
export function idsTokenizer(vocabSize: number): Tokenizer {
  const text = (id: number): string => `#${id}`;
  return {
    kind: 'ids',
    vocabSize,
    encode(s) {
      return s
        .split(/\s+/)
        .filter((w) => w !== '')
        .map((w) => {
          const id = Number(w.replace(/^#/, ''));
          if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
            throw new ConfigError(`${shown(w)} is not a token id below ${vocabSize}`);
          }
          return id;
        });
    },
    decode: (ids) => Array.from(ids, text).join(' '),
    tokenText: text,
  };
}
