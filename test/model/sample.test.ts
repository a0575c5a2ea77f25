// Sampling: one seed gives one continuation, another seed another; top-k = 1 at any temperature is
// greedy, and greedy is the argmax of a separate forward at every step; a context longer than the
// block size is cropped; the draw follows the softmax it is given.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.ts';
import { rngFor, rngFromState } from '../../src/engine/random.ts';
import { tf } from '../../src/engine/tf.ts';
import { disposeParams, initParams } from '../../src/model/params.ts';
import { nextToken, sampleTokens } from '../../src/model/sample.ts';
import { forward } from '../../src/model/transformer.ts';
import { perturb, tinyConfig } from './helpers.ts';

before(async () => {
  await initBackend('cpu');
});

const c = tinyConfig({ kind: 'mhc-lite' }, 3);

test('same seed ⇒ same tokens; another seed ⇒ others; top-k 1 ⇒ greedy = argmax of a separate forward', () => {
  const params = initParams(c, 41);
  try {
    perturb(params, 42);
    const prompts = [[1, 2, 3], [4, 5, 6]];
    const draw = (seed: number, temperature: number, topK?: number) =>
      sampleTokens(params, c, prompts, { tokens: 12, temperature, ...(topK === undefined ? {} : { topK }), rng: rngFor(seed, 'sample') });
    const a = draw(7, 1);
    assert.deepEqual(draw(7, 1), a);
    assert.notDeepEqual(draw(8, 1), a);
    assert.deepEqual(a.map((r) => r.slice(0, 3)), prompts, 'each row starts with its prompt');
    assert.ok(a.every((r) => r.length === 15 && r.every((t) => Number.isInteger(t) && t >= 0 && t < c.vocabSize)));
    const greedy = draw(7, 0);
    assert.deepEqual(draw(99, 1.5, 1), greedy, 'top-k 1 is greedy whatever the seed and temperature');
    // Greedy by hand: the argmax of the last position, the context cropped to blockSize = 8.
    const row = [...(prompts[0] as number[])];
    for (let s = 0; s < 12; s++) {
      const ctx = row.slice(-c.blockSize);
      const next = tf.tidy(() => tf.argMax(tf.squeeze(tf.slice(forward(params, c, tf.tensor2d(ctx, [1, ctx.length], 'int32')), [0, ctx.length - 1, 0], [1, 1, -1])), -1).dataSync()[0] as number);
      row.push(next);
    }
    assert.deepEqual(greedy[0], row);
    assert.ok(row.length > c.blockSize, 'the context did outgrow the block size');
  } finally {
    disposeParams(params);
  }
});

test('a draw follows the softmax at the temperature, and top-k leaves out the tail', () => {
  const logits = Float32Array.from([Math.log(1), Math.log(2), Math.log(7), -1e9]);
  const counts = [0, 0, 0, 0];
  const rng = rngFromState(5);
  const N = 20000;
  for (let i = 0; i < N; i++) (counts[nextToken(logits, { temperature: 1, rng })] as number)++;
  assert.ok(Math.abs((counts[2] as number) / N - 0.7) < 0.015 && Math.abs((counts[0] as number) / N - 0.1) < 0.01, `${counts}`);
  assert.equal(counts[3], 0);
  const top2 = [0, 0, 0, 0];
  for (let i = 0; i < 2000; i++) (top2[nextToken(logits, { temperature: 1, topK: 2, rng })] as number)++;
  assert.equal(top2[0], 0, 'the third most likely token is never drawn with top-k 2');
  assert.ok(Math.abs((top2[2] as number) / 2000 - 7 / 9) < 0.04, `${top2}`);
  // Temperature 0.5 squares the odds: 1 : 4 : 49.
  const sharp = [0, 0, 0, 0];
  for (let i = 0; i < N; i++) (sharp[nextToken(logits, { temperature: 0.5, rng })] as number)++;
  assert.ok(Math.abs((sharp[2] as number) / N - 49 / 54) < 0.01, `${sharp}`);
});
