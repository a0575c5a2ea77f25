// Tests for the synthetic corpus: determinism, and that each planted latent really holds,
// checked by re-deriving it from the tokens rather than from the generator's bookkeeping.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import type { Corpus, Split } from '../../src/data/split.ts';
import { GRAMMAR } from '../../src/data/synthetic-grammar.ts';
import { generateSplit, SYNTHETIC_DEFAULTS, syntheticCorpus } from '../../src/data/synthetic.ts';

const corpus = syntheticCorpus({ seed: 7, trainTokens: 300_000, valTokens: 30_000 });

function label(split: Split, name: string): Int32Array {
  const l = split.labels.get(name);
  assert.ok(l, `label ${name}`);
  return l;
}

function valueId(c: Corpus, name: string, value: string): number {
  const i = c.labels.find((l) => l.name === name)?.values.indexOf(value) ?? -1;
  assert.ok(i >= 0, `${name}=${value}`);
  return i;
}

test('the same seed gives identical tokens and labels; another seed does not', () => {
  const a = syntheticCorpus({ seed: 3, trainTokens: 20_000, valTokens: 5_000 });
  const b = syntheticCorpus({ seed: 3, trainTokens: 20_000, valTokens: 5_000 });
  const c = syntheticCorpus({ seed: 4, trainTokens: 20_000, valTokens: 5_000 });
  assert.deepEqual(a.train.tokens, b.train.tokens);
  assert.deepEqual(a.val.tokens, b.val.tokens);
  assert.deepEqual(a.train.labels, b.train.labels);
  assert.deepEqual(a.train.docStarts, b.train.docStarts);
  assert.notDeepEqual(a.train.tokens, c.train.tokens);
  assert.notDeepEqual(a.train.tokens.subarray(0, 5000), a.val.tokens);
});

test('each split is generated when first read, once, and equals the split generated at once', () => {
  const calls: string[] = [];
  const counting: typeof generateSplit = (seed, stream, n) => {
    calls.push(stream);
    return generateSplit(seed, stream, n);
  };
  const lazy = syntheticCorpus({ seed: 3, trainTokens: 20_000, valTokens: 5_000 }, counting);
  assert.deepEqual(calls, [], 'nothing generated before a split is read');
  assert.deepEqual(lazy.val.tokens, generateSplit(3, 'val', 5_000).tokens);
  assert.deepEqual(lazy.val.labels, generateSplit(3, 'val', 5_000).labels);
  assert.deepEqual(calls, ['val'], 'reading val leaves train ungenerated');
  assert.equal(lazy.val, lazy.val, 'generated once');
  assert.deepEqual(lazy.train.tokens, syntheticCorpus({ seed: 3, trainTokens: 20_000, valTokens: 5_000 }).train.tokens);
  void lazy.train;
  assert.deepEqual(calls, ['val', 'train']);
});

test('the default corpus has the documented sizes and a vocabulary of at most 256', () => {
  const d = syntheticCorpus({ seed: 1 });
  assert.equal(d.train.tokens.length, SYNTHETIC_DEFAULTS.trainTokens);
  assert.equal(d.val.tokens.length, SYNTHETIC_DEFAULTS.valTokens);
  assert.ok(d.vocabSize <= 256);
  assert.equal(d.tokenizer.vocabSize, d.vocabSize);
  assert.deepEqual(d.describe(), {
    kind: 'synthetic',
    seed: 1,
    vocabSize: d.vocabSize,
    trainTokens: 2_000_000,
    valTokens: 100_000,
    tokenizer: 'synthetic',
    labels: ['topic', 'pos', 'number', 'pending_number', 'depth', 'parity', 'copy'],
  });
});

test('labels are aligned with tokens, listed in order, and within range', () => {
  for (const split of [corpus.train, corpus.val]) {
    assert.deepEqual([...split.labels.keys()], corpus.labels.map((l) => l.name));
    for (const spec of corpus.labels) {
      const ids = label(split, spec.name);
      assert.equal(ids.length, split.tokens.length, spec.name);
      const seen = new Set(ids);
      for (const v of seen) assert.ok(v >= -1 && v < spec.values.length, `${spec.name} = ${v}`);
      for (let v = 0; v < spec.values.length; v++) assert.ok(seen.has(v), `${spec.name} never takes ${spec.values[v]}`);
    }
    for (const t of split.tokens) assert.ok(t >= 0 && t < corpus.vocabSize);
  }
});

test('documents start with <doc>, and parity counts from it', () => {
  const { tokens, docStarts } = corpus.train;
  assert.ok(docStarts && docStarts.length > 100);
  const starts = new Set(docStarts);
  const parity = label(corpus.train, 'parity');
  let start = 0;
  for (let i = 0; i < tokens.length; i++) {
    assert.equal(tokens[i] === GRAMMAR.doc, starts.has(i), `position ${i}`);
    if (starts.has(i)) start = i;
    assert.equal(parity[i], (i - start) % 2, `parity at ${i}`);
  }
});

test('each document has one topic, and its words come mostly from that topic', () => {
  const { tokens } = corpus.train;
  const topic = label(corpus.train, 'topic');
  const nounTopic = new Map<number, number>();
  GRAMMAR.topics.forEach((t, k) => {
    for (const [sg, pl] of t.nouns) nounTopic.set(sg, k).set(pl, k);
  });
  let current = -1;
  let own = 0;
  let nouns = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] ?? -1;
    if (t === GRAMMAR.doc) {
      assert.equal(topic[i], -1);
      current = topic[i + 1] ?? -1;
      continue;
    }
    assert.equal(topic[i], current, `topic changes inside a document at ${i}`);
    const k = nounTopic.get(t);
    if (k !== undefined) {
      nouns++;
      if (k === current) own++;
    }
  }
  // 0.85 from the topic + 0.15 × ¼ by chance ≈ 0.89; with no topic effect it would be ¼.
  assert.ok(own / nouns > 0.85 && own / nouns < 0.93, `own-topic nouns ${own / nouns}`);
});

test('bracket depth follows the bracket tokens and stays within 0..3', () => {
  const { tokens } = corpus.train;
  const depth = label(corpus.train, 'depth');
  let d = 0;
  let deepest = 0;
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] === GRAMMAR.open) d++;
    if (tokens[i] === GRAMMAR.close) d--;
    if (tokens[i] === GRAMMAR.period || tokens[i] === GRAMMAR.doc) assert.equal(d, 0, `unbalanced at ${i}`);
    assert.equal(depth[i], d, `depth at ${i}`);
    deepest = Math.max(deepest, d);
  }
  assert.equal(deepest, 3);
});

test('every verb agrees in number with its subject, across attractors and brackets', () => {
  const { tokens } = corpus.val;
  const pos = label(corpus.val, 'pos');
  const num = label(corpus.val, 'number');
  const depth = label(corpus.val, 'depth');
  const pending = label(corpus.val, 'pending_number');
  const [NOUN, VERB, PREP] = ['noun', 'verb', 'prep'].map((p) => valueId(corpus, 'pos', p));
  let checked = 0;
  let far = 0;
  let attracted = 0;
  let clauseStart = 0;
  let subject = -1;
  let afterPrep = false;
  let mainVerbs = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === GRAMMAR.doc || t === GRAMMAR.period || (t === GRAMMAR.and && depth[i] === 0)) {
      if (t === GRAMMAR.period) assert.equal(mainVerbs, 1, `clause ending at ${i} has ${mainVerbs} main verbs`);
      clauseStart = i + 1;
      subject = -1;
      afterPrep = false;
      mainVerbs = 0;
      continue;
    }
    if (pos[i] === VERB) {
      assert.equal(pending[i - 1], num[i], `pending_number before the verb at ${i}`);
      if (tokens[i - 1] === GRAMMAR.that && tokens[i - 2] === GRAMMAR.open) {
        assert.equal(pos[i - 3], NOUN, `relative clause at ${i} follows a noun`);
        assert.equal(num[i], num[i - 3], `relative verb at ${i}`);
      } else {
        assert.equal(depth[i], 0, `verb at ${i} outside a relative clause is at depth 0`);
        assert.ok(subject >= clauseStart, `verb at ${i} has a subject`);
        assert.equal(num[i], num[subject], `verb at ${i} agrees with subject at ${subject}`);
        if (i - subject >= 4) far++;
        for (let j = subject + 1; j < i; j++) if (pos[j] === NOUN && num[j] !== num[subject]) attracted++;
        mainVerbs++;
      }
      checked++;
    }
    if (depth[i] !== 0) continue;
    if (pos[i] === PREP) afterPrep = true;
    if (pos[i] === NOUN) {
      if (!afterPrep && subject < clauseStart) subject = i;
      afterPrep = false;
    }
  }
  assert.ok(checked > 2000, `${checked} verbs checked`);
  assert.ok(far > checked / 10, `only ${far} subjects are 4+ tokens from their verb`);
  assert.ok(attracted > checked / 10, `only ${attracted} attractors of the other number`);
});

test('each copy block repeats, labels and all, a span earlier in its document', () => {
  const { tokens, docStarts } = corpus.val;
  const copy = label(corpus.val, 'copy');
  const depth = label(corpus.val, 'depth');
  const pos = label(corpus.val, 'pos');
  assert.ok(docStarts);
  let blocks = 0;
  let copied = 0;
  for (let a = 1; a < tokens.length; a++) {
    if (copy[a] !== 1 || copy[a - 1] === 1) continue;
    let b = a;
    while (b < tokens.length && copy[b] === 1) b++;
    const from = a - 1; // the block's first token: not predictable, so labelled 0
    assert.equal(tokens[from - 1], GRAMMAR.period, `copy block at ${from} starts a sentence`);
    const doc = Math.max(...Array.from(docStarts).filter((d) => d <= from));
    let source = -1;
    for (let s = doc; s + (b - from) <= from && source < 0; s++) {
      let k = 0;
      while (k < b - from && tokens[s + k] === tokens[from + k]) k++;
      if (k === b - from) source = s;
    }
    assert.ok(source >= 0, `copy block [${from}, ${b}) has no earlier occurrence in its document`);
    assert.deepEqual(depth.subarray(from, b), depth.subarray(source, source + b - from));
    assert.deepEqual(pos.subarray(from, b), pos.subarray(source, source + b - from));
    blocks++;
    copied += b - a;
  }
  assert.ok(blocks > 50, `${blocks} copy blocks`);
  const share = copied / tokens.length;
  assert.ok(share > 0.05 && share < 0.3, `copy share ${share}`);
});

test('the tokenizer shows readable words and round-trips text', () => {
  const ids = Array.from(corpus.val.tokens.subarray(0, 200));
  const text = corpus.tokenizer.decode(ids);
  assert.match(text, /^<doc> (the|a|this|every|these|some|many) /);
  assert.deepEqual(corpus.tokenizer.encode(text), ids);
  assert.equal(corpus.tokenizer.tokenText(GRAMMAR.doc), '<doc>');
  assert.throws(() => corpus.tokenizer.encode('the zebra'), (e) => e instanceof ConfigError && /"zebra"/.test(e.message));
});

test('bad sizes and seeds are ConfigErrors naming the value', () => {
  assert.throws(() => syntheticCorpus({ seed: 1, trainTokens: 0 }), (e) => e instanceof ConfigError && /trainTokens.*0/.test(e.message));
  assert.throws(() => syntheticCorpus({ seed: 1.5 }), (e) => e instanceof ConfigError && /1\.5/.test(e.message));
});
