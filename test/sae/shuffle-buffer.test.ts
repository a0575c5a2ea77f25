// The shuffling buffer: over whole passes every row comes out as often as it went in, order
// is mixed across sequences, and the same seed gives the same batches.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rngFor } from '../../src/engine/random.ts';
import { ShuffleBuffer } from '../../sae/shuffle-buffer.ts';

/** 120 rows of width 2 = (row id, −row id), in chunks of 10 like record batches. */
async function* rows(): AsyncGenerator<Float32Array> {
  for (let c = 0; c < 12; c++) yield Float32Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 1 : -1) * (c * 10 + Math.floor(i / 2)));
}

async function drain(seed: number, batches: number): Promise<number[]> {
  const buf = new ShuffleBuffer(rows, 2, 8, 32, rngFor(seed, 'shuffle'));
  const out: number[] = [];
  for (let b = 0; b < batches; b++) {
    const x = await buf.next();
    for (let r = 0; r < 8; r++) {
      assert.equal(x[2 * r + 1], -(x[2 * r] as number), 'rows are copied whole');
      out.push(x[2 * r] as number);
    }
  }
  return out;
}

test('rows leave in mixed order, each about as often as it entered, and reproducibly', async () => {
  const ids = await drain(1, 60); // 480 rows out of 4 passes
  const counts = new Map<number, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  assert.equal(counts.size, 120, 'every row appears');
  assert.ok(Math.max(...counts.values()) <= 10, `no row dominates: ${Math.max(...counts.values())}`);
  const first = ids.slice(0, 8);
  assert.ok(Math.max(...first) - Math.min(...first) > 10, 'a batch mixes rows from different chunks');
  assert.deepEqual(await drain(1, 5), ids.slice(0, 40));
  assert.notDeepEqual(await drain(2, 5), ids.slice(0, 40));
});

test('an empty source is an error, not an endless loop', async () => {
  // biome-ignore lint/correctness/useYield: an empty source on purpose
  const empty = async function* (): AsyncGenerator<Float32Array> {};
  const buf = new ShuffleBuffer(empty, 2, 4, 8, rngFor(0, 'x'));
  await assert.rejects(buf.next(), /no rows/);
});
