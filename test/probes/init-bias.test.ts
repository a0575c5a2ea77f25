// Whether the dominant stream is the init-favoured one (probes/init-bias.ts), on planted
// diagnostics: counts, favoured streams and ties, the last layer's dominant stream, per module.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initReadBias } from '../../probes/init-bias.ts';
import type { ModuleCoefficientDiagnostics, StreamSiteDiagnostics } from '../../probes/results-schema.ts';

const site = (layer: number, module: 'attn' | 'mlp', dominant: number, s: 'resid_post' | 'resid_pre' = 'resid_post') =>
  ({ site: s, layer, module, signal: { dominant } }) as unknown as StreamSiteDiagnostics;
const coeff = (layer: number, module: 'attn' | 'mlp', dominant: number) =>
  ({ layer, module, index: 2 * layer + (module === 'mlp' ? 1 : 0), read: { dominant } }) as unknown as ModuleCoefficientDiagnostics;

test('the last resid_post MLP site decides the dominant stream, and the favoured stream is the most drawn', () => {
  const b = initReadBias([2, 2, 1, 2], 4, [site(1, 'mlp', 2), site(0, 'mlp', 3), site(1, 'attn', 0), site(1, 'mlp', 1, 'resid_pre')], [coeff(1, 'mlp', 0), coeff(0, 'attn', 2)]);
  assert.deepEqual(b.counts, [0, 1, 3, 0]);
  assert.deepEqual(b.favoured, [2]);
  assert.equal(b.dominant, 2);
  assert.equal(b.dominant_layer, 1);
  assert.equal(b.dominant_is_favoured, true);
  assert.equal(b.chance, 0.25);
  assert.deepEqual(b.dominant_read_by, ['0.attn', '0.mlp', '1.mlp']);
  assert.deepEqual(b.modules, [
    { module: '0.attn', init: 2, now: 2, same: true },
    { module: '1.mlp', init: 2, now: 0, same: false },
  ]);
});

test('a dominant stream that no module drew is not favoured; ties favour every tied stream', () => {
  const b = initReadBias([0, 1, 0, 1], 3, [site(1, 'mlp', 2)], []);
  assert.deepEqual(b.favoured, [0, 1]);
  assert.equal(b.dominant_is_favoured, false);
  assert.deepEqual(b.dominant_read_by, []);
  assert.equal(b.chance, 2 / 3);
  assert.deepEqual(b.modules, []);
});

test('without a resid_post site there is no dominant stream to compare', () => {
  const b = initReadBias([1, 1], 2, [site(0, 'mlp', 1, 'resid_pre')], []);
  assert.equal(b.dominant, null);
  assert.equal(b.dominant_is_favoured, null);
});
