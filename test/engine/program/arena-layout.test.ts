// The arena's slice layout (src/engine/program/gpu-arena.ts) without a device: offsets aligned,
// slices disjoint and in order, sizes exact, and bad specs rejected with the value received.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layoutSlices } from '../../../src/engine/program/gpu-arena.ts';

test('slices start at multiples of the alignment, in order, without overlap', () => {
  const specs = [1, 63, 64, 65, 1000, 7].map((length, i) => ({ name: `s${i}`, length }));
  for (const align of [4, 16, 256]) {
    const { slices, bytes } = layoutSlices(specs, align);
    assert.deepEqual(
      slices.map((s) => s.name),
      specs.map((s) => s.name),
    );
    slices.forEach((s, i) => {
      assert.equal(s.offset % align, 0, `${s.name} at ${s.offset}, align ${align}`);
      const prev = slices[i - 1];
      if (prev) {
        const prevEnd = prev.offset + 4 * prev.length;
        assert.ok(s.offset >= prevEnd && s.offset < prevEnd + align, `${s.name} at ${s.offset}: previous ends at ${prevEnd}`);
      } else assert.equal(s.offset, 0);
    });
    const last = slices.at(-1) as (typeof slices)[number];
    assert.equal(bytes, last.offset + 4 * last.length);
  }
  // known values at 256: 1 float, then 63, 64, 65 floats each in their own 256-byte blocks
  assert.deepEqual(
    layoutSlices(specs, 256).slices.map((s) => s.offset),
    [0, 256, 512, 768, 1280, 5376],
  );
});

test('with an alignment of 4 the slices are packed end to end', () => {
  const { slices, bytes } = layoutSlices(
    [
      { name: 'a', length: 3 },
      { name: 'b', length: 5 },
    ],
    4,
  );
  assert.deepEqual(
    slices.map((s) => s.offset),
    [0, 12],
  );
  assert.equal(bytes, 32);
});

test('bad specs are rejected, naming what was received', () => {
  assert.throws(() => layoutSlices([{ name: 'x', length: 0 }], 256), /"x" needs a positive integer length, got 0/);
  assert.throws(() => layoutSlices([{ name: 'x', length: 2.5 }], 256), /got 2\.5/);
  assert.throws(
    () =>
      layoutSlices(
        [
          { name: 'x', length: 1 },
          { name: 'x', length: 2 },
        ],
        256,
      ),
    /"x" is named twice/,
  );
  assert.throws(() => layoutSlices([], 6), /got 6/);
  assert.equal(layoutSlices([], 256).bytes, 4);
});
