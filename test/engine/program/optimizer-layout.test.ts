// The optimizer arenas' slice list (src/engine/program/optimizer-layout.ts) for the model's own
// parameter inventory: every trainable tensor once, the decay group first and whole, the fixed
// noise buffer apart, and the decay boundary where the first no-decay slice starts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { optimizerLayout } from '../../../src/engine/program/optimizer-layout.ts';
import { MODEL_DEFAULTS, type StreamInit, validateModelConfig } from '../../../src/model/config.ts';
import { paramSpecs } from '../../../src/model/params.ts';

const model = (streamInit: StreamInit) =>
  validateModelConfig({ ...MODEL_DEFAULTS, vocabSize: 64, blockSize: 16, nLayers: 2, nHeads: 2, dModel: 32, nStreams: 4, connection: { kind: 'mhc-lite' }, streamInit });

test('decay-group slices come first, each trainable tensor once, in paramSpecs order within a group', () => {
  const specs = paramSpecs(model({ kind: 'lss', center: 0.6 }), 1);
  const { slices, constants, layout, decayEnd } = optimizerLayout(specs, 256);
  assert.deepEqual(constants, []);
  assert.deepEqual(
    slices.map((s) => s.name),
    [...specs.filter((p) => p.decay), ...specs.filter((p) => !p.decay)].map((p) => p.name),
  );
  const nDecay = specs.filter((p) => p.decay).length;
  assert.ok(nDecay > 0 && nDecay < specs.length, `${nDecay} of ${specs.length} decay`);
  const firstPlain = layout.slices[nDecay];
  assert.equal(decayEnd, (firstPlain?.offset as number) / 4);
  // every decay slice ends at or before the boundary, every other one starts after it
  layout.slices.forEach((s, i) => {
    if (i < nDecay) assert.ok((s.offset + 4 * s.length) / 4 <= decayEnd, s.name);
    else assert.ok(s.offset / 4 >= decayEnd, s.name);
  });
  const total = specs.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
  assert.equal(
    slices.reduce((a, s) => a + s.length, 0),
    total,
  );
});

test('the noise buffer goes to the constants, not the optimizer arenas', () => {
  const specs = paramSpecs(model({ kind: 'noise', sigma: 0.2 }), 1);
  const { slices, constants } = optimizerLayout(specs, 256);
  assert.deepEqual(
    constants.map((s) => s.name),
    ['expand_stream.noise'],
  );
  assert.ok(!slices.some((s) => s.name === 'expand_stream.noise'));
});

test('with no no-decay tensor the boundary is the end of the arena', () => {
  const { decayEnd, layout } = optimizerLayout([{ name: 'w', shape: [3, 5], decay: true, trainable: true }], 256);
  assert.equal(decayEnd, layout.bytes / 4);
  assert.equal(decayEnd, 15);
});
