// Capture sites of the connection kinds of issue 18 (src/capture/kind-sites.ts, site-values.ts):
// Frac's fractions and coefficients, ResiDual's fixed read/write weights, the sites a kind lacks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { availableSites, checkSites, siteUnavailable } from '../../src/capture/kind-sites.ts';
import { shardSchema, valueColumns } from '../../src/capture/schema.ts';
import { neededHooks, siteValues } from '../../src/capture/site-values.ts';
import { ConfigError } from '../../src/errors.ts';
import { type Connection, MODEL_DEFAULTS, type ModelConfig, validateModelConfig } from '../../src/model/config.ts';
import { hookName } from '../../src/model/hooks.ts';

const config = (connection: Connection, nStreams: number): ModelConfig =>
  validateModelConfig({ ...MODEL_DEFAULTS, vocabSize: 7, blockSize: 4, nLayers: 1, nHeads: 1, dModel: 4, nStreams, connection });
const FRAC = config({ kind: 'frac', dynamic: true, dynamicNorm: 'rms' }, 2);
const DUAL = config({ kind: 'residual-dual' }, 2);
const scratch = () => ({ f32: [], f16: [] });
const col = (m: Map<string, Float32Array | Uint16Array>, k: string) => Array.from(m.get(k) as Float32Array);

test('frac: streams are d/m wide; branch_in splits the branch input, branch_out scales each output fraction by β', () => {
  assert.deepEqual(valueColumns('resid_post', FRAC), [{ name: 'stream_0', width: 2 }, { name: 'stream_1', width: 2 }]);
  assert.equal(shardSchema('resid_post', FRAC, [], 'float32').fields.at(-1)?.type.listSize, 2);
  const x = hookName({ kind: 'branch_in', layer: 0, module: 'attn' });
  const y = hookName({ kind: 'branch_out', layer: 0, module: 'attn' });
  const write = hookName({ kind: 'write', layer: 0, module: 'attn' });
  assert.ok(neededHooks(['branch_in'], [0], FRAC).has(x));
  // Two rows; x and T(x) are [rows, d = 4], β [rows, m = 2].
  const acts = new Map([
    [x, Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8)],
    [y, Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8)],
    [write, Float32Array.of(10, 100, -1, 0.5)],
  ]);
  const bin = siteValues({ site: 'branch_in', layer: 0, module: 'attn' }, acts, FRAC, 2, 'float32', scratch());
  assert.deepEqual([col(bin, 'stream_0'), col(bin, 'stream_1')], [[1, 2, 5, 6], [3, 4, 7, 8]]);
  const bout = siteValues({ site: 'branch_out', layer: 0, module: 'attn' }, acts, FRAC, 2, 'float32', scratch());
  assert.deepEqual([col(bout, 'stream_0'), col(bout, 'stream_1')], [[10, 20, -5, -6], [300, 400, 3.5, 4]]);
});

test("frac: the coeffs read column is each fraction's read mass Σ_j Γ[s, j]; mixing and write as hooked", () => {
  const names = (['read', 'mixing', 'write'] as const).map((kind) => hookName({ kind, layer: 0, module: 'mlp' }));
  const acts = new Map([
    [names[0] as string, Float32Array.of(1, 2, 3, 4)], // Γ of one row: [[1, 2], [3, 4]]
    [names[1] as string, Float32Array.of(0.5, 0.5, 0, 1)],
    [names[2] as string, Float32Array.of(0.9, 1.1)],
  ]);
  const v = siteValues({ site: 'coeffs', layer: 0, module: 'mlp' }, acts, FRAC, 1, 'float32', scratch());
  assert.deepEqual([col(v, 'read'), col(v, 'mixing'), col(v, 'write')], [[3, 7], [0.5, 0.5, 0, 1], [Math.fround(0.9), Math.fround(1.1)]]);
});

test('residual-dual: the branch reads x_a alone and writes into both streams', () => {
  const pre = hookName({ kind: 'resid_pre', layer: 0 });
  const y = hookName({ kind: 'branch_out', layer: 0, module: 'attn' });
  // One row: x_a = (1, 2, 3, 4), x_d = (5, 6, 7, 8); T(x) = (1, 1, 1, 1).
  const acts = new Map([[pre, Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8)], [y, Float32Array.of(1, 1, 1, 1)]]);
  const bin = siteValues({ site: 'branch_in', layer: 0, module: 'attn' }, acts, DUAL, 1, 'float32', scratch());
  assert.deepEqual([col(bin, 'stream_0'), col(bin, 'stream_1')], [[1, 2, 3, 4], [0, 0, 0, 0]]);
  const bout = siteValues({ site: 'branch_out', layer: 0, module: 'attn' }, acts, DUAL, 1, 'float32', scratch());
  assert.deepEqual([col(bout, 'stream_0'), col(bout, 'stream_1')], [[1, 1, 1, 1], [1, 1, 1, 1]]);
});

test('sites a kind lacks: named in a ConfigError, left out of the defaults', () => {
  const alt = config({ kind: 'altup' }, 2);
  const post = config({ kind: 'post-norm' }, 1);
  assert.deepEqual(availableSites(['resid_post', 'coeffs'], alt), ['resid_post']);
  assert.deepEqual(availableSites(['resid_post', 'branch_in', 'coeffs'], post), ['resid_post', 'branch_in']);
  assert.deepEqual(availableSites(['resid_post', 'coeffs'], config({ kind: 'residual' }, 1)), ['resid_post', 'coeffs']);
  assert.deepEqual(availableSites(['branch_in', 'coeffs'], FRAC), ['branch_in', 'coeffs']);
  assert.equal(siteUnavailable('resid_pre', alt), null);
  assert.throws(() => checkSites(['resid_post', 'coeffs'], DUAL), (e: unknown) => e instanceof ConfigError && /capture site coeffs is not available: connection residual-dual/.test(e.message));
  assert.throws(() => checkSites(['branch_out'], alt), (e: unknown) => e instanceof ConfigError && /branch_out is not available: connection altup/.test(e.message));
});
