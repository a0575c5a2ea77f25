// GPT-2 byte-pair encoding (vocab 50257, <|endoftext|> = 50256) through js-tiktoken,
// whose merge ranks ship inside the package, so no network is needed.
import { createRequire } from 'node:module';
import { Tiktoken, type TiktokenBPE } from 'js-tiktoken/lite';
import type { ByteLevelTokenizer } from './tokenizer.ts';
import { visible } from './tokenizer.ts';

const GPT2_VOCAB = 50257;
const EOT = 50256;

let cached: ByteLevelTokenizer | undefined;

/**
 * The GPT-2 tokenizer, built once per process. The 0.5 MB rank table is loaded on first
 * use (synchronously, through require) so that importing the data modules stays cheap.
 */
export function gpt2Tokenizer(): ByteLevelTokenizer {
  if (cached) return cached;
  const ranks = createRequire(import.meta.url)('js-tiktoken/ranks/gpt2') as TiktokenBPE;
  const bpe = new Tiktoken(ranks);
  const table = rankBytes(ranks);
  const eotBytes = new TextEncoder().encode('<|endoftext|>');
  const lenient = new TextDecoder('utf-8');
  const bytesOf = (id: number): Uint8Array | undefined => table[id];
  cached = {
    kind: 'gpt2',
    vocabSize: GPT2_VOCAB,
    eot: EOT,
    // Special-token text in a document is encoded as ordinary text (tiktoken's
    // encode_ordinary, as nanoGPT's prepare.py does), never as <|endoftext|> itself.
    encode: (text) => bpe.encode(text, [], []),
    decode(ids) {
      const parts: Uint8Array[] = [];
      let n = 0;
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i] ?? -1;
        const b = id === EOT ? eotBytes : bytesOf(id);
        if (b) {
          parts.push(b);
          n += b.length;
        }
      }
      const all = new Uint8Array(n);
      let at = 0;
      for (const b of parts) {
        all.set(b, at);
        at += b.length;
      }
      return lenient.decode(all);
    },
    tokenText(id) {
      if (id === EOT) return '<|endoftext|>';
      const b = bytesOf(id);
      return b ? visible(lenient.decode(b)) : `<${id}>`;
    },
    tokenBytes: bytesOf,
  };
  return cached;
}

/** id → bytes, from the rank file: lines of `<key> <first rank> <base64 token>...`. */
function rankBytes(ranks: TiktokenBPE): Uint8Array[] {
  const table: Uint8Array[] = [];
  for (const line of ranks.bpe_ranks.split('\n')) {
    const fields = line.split(' ');
    const first = Number.parseInt(fields[1] ?? '', 10);
    if (!Number.isInteger(first)) continue;
    for (let i = 2; i < fields.length; i++) {
      table[first + i - 2] = Uint8Array.from(Buffer.from(fields[i] ?? '', 'base64'));
    }
  }
  return table;
}
