// Tests for text corpora: byte and GPT-2 tokenizers, the automatic labels on known strings,
// the train/val cut, and a ConfigError naming the file for each bad corpus.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import { gpt2Tokenizer } from '../../src/data/gpt2-tokenizer.ts';
import { TEXT_LABELS, textLabels } from '../../src/data/text-labels.ts';
import { firstInvalidUtf8, textCorpus } from '../../src/data/text.ts';
import { byteTokenizer } from '../../src/data/tokenizer.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcprobe-text-'));
function file(name: string, content: string | Uint8Array): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
}

/** Labels of `text` under the byte tokenizer, as value names (− for not applicable). */
function byteLabels(text: string): Record<string, string[]> {
  const tok = byteTokenizer();
  const labels = textLabels(tok.encode(text), tok.tokenBytes);
  const out: Record<string, string[]> = {};
  for (const spec of TEXT_LABELS) {
    out[spec.name] = Array.from(labels.get(spec.name) ?? [], (v) => spec.values[v] ?? '-');
  }
  return out;
}

test('the byte tokenizer round-trips UTF-8 text, emoji included', () => {
  const tok = byteTokenizer();
  const s = 'naïve café — 😀 "quoted" (x)\n';
  const ids = tok.encode(s);
  assert.equal(ids.length, new TextEncoder().encode(s).length);
  assert.equal(tok.decode(ids), s);
  assert.equal(tok.tokenText(0x41), 'A');
  assert.equal(tok.tokenText(0x0a), '\\n');
  assert.equal(tok.tokenText(0xf0), '<0xf0>');
});

test('the GPT-2 tokenizer encodes "Hello world" to [15496, 995] and back', () => {
  const tok = gpt2Tokenizer();
  assert.deepEqual(tok.encode('Hello world'), [15496, 995]);
  assert.equal(tok.decode([15496, 995]), 'Hello world');
  assert.equal(tok.tokenText(995), ' world');
  assert.equal(tok.vocabSize, 50257);
  // Special-token text inside a document is ordinary text, as in nanoGPT's prepare.py.
  assert.ok(!tok.encode('a <|endoftext|> b').includes(50256));
});

test('automatic labels on a known string (byte tokens)', () => {
  const l = byteLabels('He said "Hi (ok)" 42é.');
  const at = (name: string, from: number, to: number) => (l[name] ?? []).slice(from, to).join(',');
  assert.equal(at('char_class', 0, 3), 'letter,letter,space');
  assert.equal(at('capitalised', 0, 3), 'yes,no,-');
  assert.equal(at('word_position', 3, 8), '0,1,2,3+,-');
  // The state after each token: the opening mark is inside, the closing mark outside.
  assert.equal(at('in_quotes', 7, 18), 'no,yes,yes,yes,yes,yes,yes,yes,yes,no,no');
  assert.equal(at('in_brackets', 11, 17), 'no,yes,yes,yes,no,no');
  // "42é": digits then both bytes of é, which continue the same word.
  assert.equal(at('char_class', 18, 23), 'digit,digit,letter,letter,punct');
  assert.equal(at('word_position', 18, 23), '0,1,2,3+,-');
});

test('automatic labels on GPT-2 tokens look past a leading space', () => {
  const tok = gpt2Tokenizer();
  const ids = tok.encode('The Cat, 7 sat');
  const l = textLabels(ids, tok.tokenBytes);
  const cls = TEXT_LABELS[0]?.values ?? [];
  assert.deepEqual(
    Array.from(l.get('char_class') ?? [], (v) => cls[v]),
    ids.map((id) => {
      const s = tok.tokenText(id).trim();
      return /^[A-Za-z]/.test(s) ? 'letter' : /^\d/.test(s) ? 'digit' : 'punct';
    }),
  );
  assert.deepEqual(Array.from(l.get('capitalised') ?? []), ids.map((id) => (/^[A-Z]/.test(tok.tokenText(id).trim()) ? 1 : /^[a-z]/.test(tok.tokenText(id).trim()) ? 0 : -1)));
  assert.ok(Array.from(l.get('word_position') ?? []).every((p, i) => p === (/^[\w]/.test(tok.tokenText(ids[i] ?? 0).trim()) ? 0 : -1)));
});

test('a text file splits its last 10% off for validation, labels aligned', () => {
  const text = 'The quick brown fox. '.repeat(40);
  const c = textCorpus(file('fox.txt', text));
  assert.equal(c.train.tokens.length + c.val.tokens.length, text.length);
  assert.equal(c.val.tokens.length, text.length / 10);
  assert.equal(c.tokenizer.decode(c.train.tokens) + c.tokenizer.decode(c.val.tokens), text);
  for (const split of [c.train, c.val]) {
    assert.deepEqual([...split.labels.keys()], c.labels.map((l) => l.name));
    for (const ids of split.labels.values()) assert.equal(ids.length, split.tokens.length);
  }
  const quarter = textCorpus(file('fox2.txt', text), { valFraction: 0.25 });
  assert.equal(quarter.val.tokens.length, text.length / 4);
  assert.equal(quarter.describe().valFraction, 0.25);
});

test('JSONL documents are joined with separators and numbered by docStarts', () => {
  const p = file('docs.jsonl', '{"text": "ab"}\n\n{"text": "cd", "id": 2}\n{"text":"efghijklmnopqrstuvwxyz"}\n');
  const bytes = textCorpus(p);
  assert.equal(bytes.tokenizer.decode([...bytes.train.tokens, ...bytes.val.tokens]), 'ab\ncd\nefghijklmnopqrstuvwxyz');
  assert.deepEqual(bytes.train.docStarts, Int32Array.of(0, 3, 6));
  const bpe = textCorpus(p, { tokenizer: 'gpt2', valFraction: 0.2 });
  const all = [...bpe.train.tokens, ...bpe.val.tokens];
  assert.equal(all.filter((t) => t === 50256).length, 3);
  assert.equal(all.at(-1), 50256);
  assert.equal(bpe.vocabSize, 50257);
});

function throwsConfig(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof ConfigError && pattern.test(e.message));
}

test('each bad corpus is a ConfigError naming the file and the fault', () => {
  throwsConfig(() => textCorpus(path.join(dir, 'nope.txt')), /nope\.txt.*does not exist/);
  throwsConfig(() => textCorpus(file('empty.txt', '')), /empty\.txt.*empty/);
  throwsConfig(() => textCorpus(file('empty.jsonl', '\n\n')), /empty\.jsonl.*no lines/);
  throwsConfig(() => textCorpus(file('blank.jsonl', '{"text": ""}\n')), /blank\.jsonl.*empty/);
  throwsConfig(
    () => textCorpus(file('latin1.txt', Uint8Array.of(0x61, 0x62, 0x63, 0xe9, 0x74, 0xe9))),
    /latin1\.txt.*not UTF-8.*0xe9 at offset 3/,
  );
  throwsConfig(() => textCorpus(file('bad.jsonl', '{"text": "ok"}\n{"text": oops}\n')), /bad\.jsonl.*line 2 is not JSON/);
  throwsConfig(() => textCorpus(file('notext.jsonl', '{"text": "ok"}\n\n{"body": "x"}\n')), /notext\.jsonl.*line 3 has no string "text"/);
  throwsConfig(() => textCorpus(file('num.jsonl', '{"text": 5}\n')), /num\.jsonl.*line 1/);
  throwsConfig(() => textCorpus(file('one.txt', 'a')), /one\.txt.*1 token/);
  throwsConfig(() => textCorpus(file('ok.txt', 'abc'), { valFraction: 1 }), /valFraction.*1/);
});

test('the first invalid UTF-8 byte is found, overlong and surrogate forms included', () => {
  const enc = new TextEncoder();
  assert.equal(firstInvalidUtf8(enc.encode('héllo 😀')), enc.encode('héllo 😀').length);
  assert.equal(firstInvalidUtf8(Uint8Array.of(0x41, 0xc0, 0x80)), 1); // overlong NUL
  assert.equal(firstInvalidUtf8(Uint8Array.of(0x41, 0x42, 0xed, 0xa0, 0x80)), 2); // surrogate
  assert.equal(firstInvalidUtf8(Uint8Array.of(0xf0, 0x9f, 0x98)), 0); // cut short
  assert.equal(firstInvalidUtf8(Uint8Array.of(0x41, 0x80)), 1); // stray continuation
});
