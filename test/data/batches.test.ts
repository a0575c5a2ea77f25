// Tests for the batch sampler and the probing windows: determinism in (seed, step),
// targets shifted by one, bounds, and ConfigErrors naming the sizes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import { sampleBatch, sequentialWindows } from '../../src/data/batches.ts';
import type { Split } from '../../src/data/split.ts';
import { syntheticCorpus } from '../../src/data/synthetic.ts';

const corpus = syntheticCorpus({ seed: 5, trainTokens: 50_000, valTokens: 2_000 });
/** Token i is i itself, so a window's start can be read off its first token. */
const ramp: Split = { tokens: Int32Array.from({ length: 1000 }, (_, i) => i), labels: new Map() };

test('a batch is fully determined by (seed, step)', () => {
  const opts = { batchSize: 8, seqLen: 64, seed: 11, step: 123 };
  const a = sampleBatch(corpus.train, opts);
  // Other steps in between must not change step 123's batch (as on resume).
  sampleBatch(corpus.train, { ...opts, step: 0 });
  assert.deepEqual(sampleBatch(corpus.train, opts), a);
  assert.notDeepEqual(sampleBatch(corpus.train, { ...opts, step: 124 }).tokens, a.tokens);
  assert.notDeepEqual(sampleBatch(corpus.train, { ...opts, seed: 12 }).tokens, a.tokens);
});

test('targets are the tokens shifted by one, windows inside the split, ids in the vocabulary', () => {
  const seqLen = 16;
  const starts = new Set<number>();
  for (let step = 0; step < 200; step++) {
    const { tokens, targets } = sampleBatch(ramp, { batchSize: 4, seqLen, seed: 1, step });
    assert.equal(tokens.length, 4 * seqLen);
    for (let b = 0; b < 4; b++) {
      const s = tokens[b * seqLen] ?? -1;
      starts.add(s);
      assert.ok(s >= 0 && s + seqLen + 1 <= 1000, `window at ${s}`);
      for (let t = 0; t < seqLen; t++) {
        assert.equal(tokens[b * seqLen + t], s + t);
        assert.equal(targets[b * seqLen + t], s + t + 1);
      }
    }
  }
  assert.ok(starts.has(0) || starts.size > 500, `starts cover the split (${starts.size} distinct)`);
  const { tokens, targets } = sampleBatch(corpus.train, { batchSize: 32, seqLen: 128, seed: 2, step: 9 });
  for (const t of [...tokens, ...targets]) assert.ok(t >= 0 && t < corpus.vocabSize);
});

test('a split too short for one window, and bad sizes, are ConfigErrors naming them', () => {
  const short: Split = { tokens: new Int32Array(10), labels: new Map() };
  assert.throws(
    () => sampleBatch(short, { batchSize: 2, seqLen: 10, seed: 0, step: 0 }),
    (e) => e instanceof ConfigError && /10 tokens.*seqLen \+ 1 = 11/.test(e.message),
  );
  assert.doesNotThrow(() => sampleBatch(short, { batchSize: 2, seqLen: 9, seed: 0, step: 0 }));
  assert.throws(() => sampleBatch(ramp, { batchSize: 0, seqLen: 4, seed: 0, step: 0 }), /batchSize.*0/);
  assert.throws(() => sampleBatch(ramp, { batchSize: 2, seqLen: 4, seed: 0, step: -1 }), /step.*-1/);
  assert.throws(() => sequentialWindows(short, 11).next(), (e) => e instanceof ConfigError && /10 tokens.*11/.test(e.message));
});

test('sequential windows tile the split in order, with their labels', () => {
  const windows = [...sequentialWindows(corpus.val, 300)];
  assert.equal(windows.length, Math.floor(2000 / 300));
  windows.forEach((w, k) => {
    assert.equal(w.start, k * 300);
    assert.deepEqual(w.tokens, corpus.val.tokens.subarray(k * 300, (k + 1) * 300));
    assert.deepEqual([...w.labels.keys()], corpus.labels.map((l) => l.name));
    assert.deepEqual(w.labels.get('depth'), corpus.val.labels.get('depth')?.subarray(k * 300, (k + 1) * 300));
  });
  assert.equal([...sequentialWindows(corpus.val, 300, 900)].length, 3);
  assert.equal([...sequentialWindows(corpus.val, 300, 899)].length, 2);
});
