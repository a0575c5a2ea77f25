// XXH64, the shards' checksum: digests equal to the reference tool's (`xxhsum -H64`, xxHash
// 0.8, on the same bytes), whole or fed in pieces of any size.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { xxh64, xxh64Hex } from '../../src/io/xxh64.ts';

/** Bytes (31·i + 7) mod 256: a pattern that no chunking can hide. */
const pattern = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 255);

// From `xxhsum -H64` (Debian's xxhash package): printf '' and 'abc', and the pattern written by
// python3 -c "import sys; sys.stdout.buffer.write(bytes((i*31+7)&255 for i in range(N)))".
const VECTORS: [string, Uint8Array, string][] = [
  ['empty', new Uint8Array(), 'ef46db3751d8e999'],
  ['abc', new TextEncoder().encode('abc'), '44bc2cf5ad770999'],
  ['pattern of 1000 bytes', pattern(1000), '99594f4828043d35'],
  ['pattern of 100003 bytes', pattern(100003), 'c333c0bff6f9efdb'],
];

test('xxh64Hex equals xxhsum -H64', () => {
  for (const [name, bytes, hex] of VECTORS) assert.equal(xxh64Hex(bytes), hex, name);
});

test('a running xxh64 fed in pieces equals the whole, for pieces shorter and longer than a stripe', () => {
  const bytes = pattern(100003);
  for (const piece of [1, 7, 31, 32, 33, 4096, 65537]) {
    const h = xxh64();
    for (let at = 0; at < bytes.length; at += piece) h.update(bytes.subarray(at, at + piece));
    assert.equal(h.hex(), 'c333c0bff6f9efdb', `pieces of ${piece}`);
  }
});

test('a digest ends the hash: a later update throws', () => {
  const h = xxh64();
  h.update(pattern(10));
  h.hex();
  assert.throws(() => h.update(pattern(1)), /update after hex/);
});
