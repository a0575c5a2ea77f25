// Tests for nanoGPT .bin corpora and the loadCorpus dispatch: both layouts, ids checked
// against the vocabulary, GPT-2 labels, and ConfigErrors naming the file or value.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import { loadCorpus } from '../../src/data/corpus.ts';
import { gpt2Tokenizer } from '../../src/data/gpt2-tokenizer.ts';
import { tokensBinCorpus } from '../../src/data/tokens-bin.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcprobe-bin-'));

/** Ids as nanoGPT writes them: np.uint16, little-endian. */
function bin(name: string, ids: readonly number[]): string {
  const b = Buffer.alloc(ids.length * 2);
  ids.forEach((id, i) => b.writeUInt16LE(id, 2 * i));
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, b);
  return p;
}

function throwsConfig(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof ConfigError && pattern.test(e.message));
}

test('a folder with train.bin and val.bin reads back the ids written', () => {
  bin('nano/train.bin', [1, 2, 3, 50303, 0, 258]);
  bin('nano/val.bin', [7, 8, 9]);
  const c = loadCorpus(path.join(dir, 'nano'), { seed: 0 });
  assert.equal(c.kind, 'tokens');
  assert.equal(c.vocabSize, 50304);
  assert.deepEqual(c.train.tokens, Int32Array.of(1, 2, 3, 50303, 0, 258));
  assert.deepEqual(c.val.tokens, Int32Array.of(7, 8, 9));
  assert.deepEqual(c.labels, []);
  assert.equal(c.train.labels.size, 0);
  assert.equal(c.tokenizer.decode([258, 7]), '#258 #7');
  assert.equal(c.describe().layout, 'train.bin+val.bin');
});

test('one .bin file keeps its last 10% for validation', () => {
  const ids = Array.from({ length: 100 }, (_, i) => i * 500);
  const c = loadCorpus(bin('one.bin', ids), { seed: 0 });
  assert.deepEqual(Array.from(c.train.tokens), ids.slice(0, 90));
  assert.deepEqual(Array.from(c.val.tokens), ids.slice(90));
});

test('with the GPT-2 tokenizer the ids get text labels, documents split after <|endoftext|>', () => {
  const tok = gpt2Tokenizer();
  const ids = [...tok.encode('Hello world'), 50256, ...tok.encode('Bye (now)'), 50256];
  // By, e, " (", now | ), <|endoftext|>: the validation split opens inside the brackets.
  const c = tokensBinCorpus(bin('gpt2.bin', ids), { tokenizer: 'gpt2', valFraction: 0.3 });
  assert.deepEqual(c.labels.map((l) => l.name), ['char_class', 'capitalised', 'in_quotes', 'in_brackets', 'word_position']);
  assert.deepEqual(c.train.docStarts, Int32Array.of(0, 3));
  assert.equal(c.tokenizer.decode(c.train.tokens), 'Hello world<|endoftext|>Bye (');
  assert.deepEqual(c.train.labels.get('capitalised'), Int32Array.of(1, 0, -1, 1, 0, -1));
  assert.deepEqual(c.train.labels.get('word_position'), Int32Array.of(0, 0, -1, 0, 1, -1));
  assert.deepEqual(c.val.labels.get('in_brackets'), Int32Array.of(1, 0, -1));
  assert.equal(c.val.docStarts?.length, 0);
});

test('bad .bin corpora are ConfigErrors naming the file and the value', () => {
  throwsConfig(() => tokensBinCorpus(bin('big.bin', [5, 6, 50304, 1])), /big\.bin.*id 50304 at token 2 \(byte offset 4\)/);
  throwsConfig(() => tokensBinCorpus(bin('small.bin', [5, 300]), { vocabSize: 256 }), /small\.bin.*id 300 at token 1/);
  const odd = path.join(dir, 'odd.bin');
  fs.writeFileSync(odd, Uint8Array.of(1, 0, 2));
  throwsConfig(() => tokensBinCorpus(odd), /odd\.bin.*odd length \(3 bytes\)/);
  throwsConfig(() => tokensBinCorpus(bin('empty.bin', [])), /empty\.bin.*empty/);
  bin('half/train.bin', [1, 2]);
  throwsConfig(() => loadCorpus(path.join(dir, 'half'), { seed: 0 }), /half.*no val\.bin/);
  throwsConfig(() => tokensBinCorpus(bin('v.bin', [1, 2]), { vocabSize: 70000 }), /vocabSize.*70000/);
});

test('loadCorpus dispatches on the spec and rejects what it cannot read', () => {
  assert.equal(loadCorpus('synthetic', { seed: 1, trainTokens: 1000, valTokens: 100 }).kind, 'synthetic');
  const txt = path.join(dir, 'a.md');
  fs.writeFileSync(txt, '# Title\n\nSome text here.');
  const c = loadCorpus(txt, { seed: 0, tokenizer: 'gpt2' });
  assert.equal(c.kind, 'text');
  assert.equal(c.tokenizer.kind, 'gpt2');
  throwsConfig(() => loadCorpus(path.join(dir, 'missing.txt'), { seed: 0 }), /missing\.txt.*does not exist/);
  throwsConfig(() => loadCorpus('', { seed: 0 }), /""/);
  throwsConfig(() => loadCorpus(txt, { seed: 0, vocabSize: 300 }), /vocabSize 300.*a\.md/);
  throwsConfig(() => loadCorpus(path.join(dir, 'one.bin'), { seed: 0, tokenizer: 'byte' }), /one\.bin.*byte/);
});
