// readInto: a tensor's values copied into the caller's array equal dataSync's on the wasm
// backend (read from its heap, here a slice's own buffer and a clone sharing its source's) and
// on cpu; a wrong length or dtype is refused before anything is written.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initBackend } from '../../src/engine/backend.ts';
import { readInto } from '../../src/engine/read-into.ts';
import { tf } from '../../src/engine/tf.ts';

for (const backend of ['wasm', 'cpu'] as const) {
  test(`readInto on ${backend}: dataSync's values, in the given array`, async () => {
    await initBackend(backend);
    const x = tf.tensor2d(Float32Array.from({ length: 60 }, (_, i) => Math.sin(i) * 3), [6, 10]);
    const part = tf.slice(x, [1, 2], [4, 5]);
    const clone = tf.clone(x);
    try {
      for (const t of [x, part, clone]) {
        const into = new Float32Array(t.size).fill(Number.NaN);
        assert.equal(readInto(t, into), into, 'the array given is the array returned');
        assert.deepEqual(into, t.dataSync());
      }
      const short = new Float32Array(x.size - 1).fill(5);
      assert.throws(() => readInto(x, short), /60 values does not fit a Float32Array of 59/);
      assert.ok(short.every((v) => v === 5), 'nothing written');
      const ints = tf.cast(x, 'int32');
      assert.throws(() => readInto(ints, new Float32Array(60)), /int32 tensor/);
      ints.dispose();
    } finally {
      tf.dispose([x, part, clone]);
    }
  });
}
