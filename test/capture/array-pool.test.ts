// ArrayPool: a buffer given back is taken again for the same length (and only for it), a taken
// array owns its whole buffer (so it can be transferred), detached buffers and buffers beyond the
// byte bound are not kept.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { ArrayPool } from '../../src/capture/array-pool.ts';

test('ArrayPool reuses given buffers by length, within its bound', () => {
  const pool = new ArrayPool(1024);
  const a = pool.take(64); // 256 bytes
  assert.equal(a.length, 64);
  assert.equal(a.byteOffset, 0);
  assert.equal(a.buffer.byteLength, 256);
  a.fill(3);
  pool.give([a.buffer as ArrayBuffer]);
  const b = pool.take(32);
  assert.notEqual(b.buffer, a.buffer, 'another length: a new buffer');
  const c = pool.take(64);
  assert.equal(c.buffer, a.buffer, 'the same length: the buffer given back');
  assert.equal(c[0], 3, 'as it was left (the reader overwrites it)');
  assert.notEqual(pool.take(64).buffer, a.buffer, 'taken once only');

  // The bound: 4 × 256 bytes fit, the fifth is left to the collector.
  const five = Array.from({ length: 5 }, () => pool.take(64));
  pool.give(five.map((x) => x.buffer as ArrayBuffer));
  const again = Array.from({ length: 5 }, () => pool.take(64).buffer);
  assert.equal(again.filter((x) => five.some((f) => f.buffer === x)).length, 4);

  // A detached buffer (transferred away) is not kept.
  const d = pool.take(16);
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(null, [d.buffer as ArrayBuffer]);
  port1.close();
  port2.close();
  assert.equal(d.buffer.byteLength, 0);
  pool.give([d.buffer as ArrayBuffer]);
  assert.equal(pool.take(16).length, 16);
});
