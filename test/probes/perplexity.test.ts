// Perplexity on a .bin file: the windows score every target once (the last partial window
// dropped), the result equals exp of the mean CE computed independently with forward and
// crossEntropy, and bad files are ConfigErrors naming the file.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { perplexity, perplexityWindows, readBinPrefix } from '../../probes/perplexity.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { rngFor } from '../../src/engine/random.ts';
import { tf } from '../../src/engine/tf.ts';
import { ConfigError } from '../../src/errors.ts';
import { disposeParams, initParams } from '../../src/model/params.ts';
import { crossEntropy, forward } from '../../src/model/transformer.ts';
import { perturb, tinyConfig } from '../model/helpers.ts';

before(async () => {
  await initBackend('cpu');
});

/** The absolute indices of the scored targets. */
const scored = (n: number, T: number, stride?: number) =>
  perplexityWindows(n, T, stride).flatMap((w) => Array.from({ length: T - w.scoreFrom }, (_, i) => w.start + w.scoreFrom + i + 1));

test('windows: non-overlapping by default, the tail dropped; a smaller stride scores each target once', () => {
  assert.deepEqual(perplexityWindows(22, 4).map((w) => w.start), [0, 5, 10, 15]);
  assert.ok(perplexityWindows(22, 4).every((w) => w.scoreFrom === 0));
  assert.deepEqual(scored(22, 4), [1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14, 16, 17, 18, 19]);
  for (const stride of [1, 2, 3, 4]) {
    const s = scored(22, 4, stride);
    const last = s.at(-1) as number;
    assert.deepEqual(s, Array.from({ length: last }, (_, i) => i + 1), `stride ${stride}: targets 1…${last} once each`);
    assert.ok(last >= 22 - stride, `stride ${stride}: at most stride − 1 tokens dropped`);
  }
  assert.deepEqual(perplexityWindows(4, 4), [], 'fewer than blockSize + 1 tokens: no window');
  assert.throws(() => perplexityWindows(22, 4, 6), ConfigError);
});

function writeBin(file: string, ids: number[]): string {
  fs.writeFileSync(file, new Uint8Array(Uint16Array.from(ids).buffer));
  return file;
}

test('perplexity = exp(mean CE) of forward + crossEntropy over the same windows', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcprobe-ppl-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const c = tinyConfig({ kind: 'hc', dynamic: true, dynamicNorm: 'rms' }, 3);
  const T = c.blockSize;
  const params = initParams(c, 51);
  try {
    perturb(params, 52);
    const rng = rngFor(53, 'bin');
    const file = writeBin(path.join(dir, 'val.bin'), Array.from({ length: 5 * (T + 1) + 3 }, () => rng.int(c.vocabSize)));
    const { ids, fileTokens } = readBinPrefix(file, c.vocabSize);
    assert.equal(fileTokens, 5 * (T + 1) + 3);
    const r = perplexity(params, c, ids, { batch: 2 });
    assert.equal(r.windows, 5);
    assert.equal(r.targets, 5 * T);
    assert.equal(r.droppedTail, 3);
    const windows = Array.from({ length: 5 }, (_, w) => ids.subarray(w * (T + 1), (w + 1) * (T + 1)));
    const ce = tf.tidy(() => {
      const x = tf.tensor2d(windows.flatMap((w) => [...w.subarray(0, T)]), [5, T], 'int32');
      const y = tf.tensor2d(windows.flatMap((w) => [...w.subarray(1)]), [5, T], 'int32');
      return crossEntropy(forward(params, c, x), y).dataSync()[0] as number;
    });
    assert.ok(Math.abs(r.meanCe - ce) < 1e-5, `${r.meanCe} vs ${ce}`);
    assert.ok(Math.abs(r.perplexity - Math.exp(ce)) < 1e-4 * Math.exp(ce));
    assert.ok(ce > 1, 'a random model on random tokens is far from certain');
    // Batching does not change the value; the first N tokens are a prefix.
    assert.ok(Math.abs(perplexity(params, c, ids, { batch: 5 }).meanCe - r.meanCe) < 1e-6);
    assert.equal(readBinPrefix(file, c.vocabSize, 2 * (T + 1)).ids.length, 2 * (T + 1));
  } finally {
    disposeParams(params);
  }
});

test('bad files: missing, empty, odd length, an id outside the vocabulary; each names the file', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcprobe-ppl-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const names = (fn: () => unknown, ...parts: string[]) =>
    assert.throws(fn, (e: unknown) => e instanceof ConfigError && parts.every((p) => e.message.includes(p)), parts.join(', '));
  const missing = path.join(dir, 'nope.bin');
  names(() => readBinPrefix(missing, 16), missing, 'does not exist');
  const empty = path.join(dir, 'empty.bin');
  fs.writeFileSync(empty, '');
  names(() => readBinPrefix(empty, 16), empty, 'empty');
  const odd = path.join(dir, 'odd.bin');
  fs.writeFileSync(odd, new Uint8Array(3));
  names(() => readBinPrefix(odd, 16), odd, 'odd length');
  const big = writeBin(path.join(dir, 'big.bin'), [1, 2, 15, 16, 3]);
  names(() => readBinPrefix(big, 16), big, 'id 16', 'token 3', '16');
  assert.equal(readBinPrefix(big, 16, 3).ids.length, 3, 'a prefix before the bad id reads');
  names(() => readBinPrefix(dir, 16), dir, 'directory');
});
