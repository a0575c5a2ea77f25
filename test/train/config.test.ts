// Training configuration (issue 3, §2): unknown keys and wrong types are ConfigErrors naming the
// key and value; unknown presets and minLr > lr are refused; layers resolve as
// defaults ← preset ← config file ← flags.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseTrainFlags, readConfigFile } from '../../cli/commands/train.ts';
import { ConfigError } from '../../src/errors.ts';
import { checkFlatConfig, PRESETS, resolveTrainConfig, TRAIN_DEFAULTS, TRAIN_KEYS } from '../../src/train/train-config.ts';
import { tempDir, writeJson } from './helpers.ts';

const VOCAB = 194;

/** Asserts a ConfigError whose message contains every one of `parts`. */
function configError(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    for (const p of parts) assert.ok(e.message.includes(p), `message ${JSON.stringify(e.message)} names ${JSON.stringify(p)}`);
    return true;
  });
}

test('unknown config key: a ConfigError naming it', () => {
  configError(() => checkFlatConfig({ layers: 2, learningRate: 1e-3 }, 'cfg.json'), 'learningRate', 'cfg.json');
  configError(() => checkFlatConfig({ warmupSteps: 3 }, 'cfg.json'), 'warmupSteps');
  assert.deepEqual(checkFlatConfig({ layers: 2, lr: 1e-3, dynamic: false, corpus: 'x.txt' }, 'cfg.json'), { layers: 2, lr: 1e-3, dynamic: false, corpus: 'x.txt' });
});

test('wrong value types: a ConfigError naming the key and the value', () => {
  configError(() => checkFlatConfig({ layers: '2' }, 'c'), 'layers', 'integer', '2');
  configError(() => checkFlatConfig({ layers: 1.5 }, 'c'), 'layers', 'integer', '1.5');
  configError(() => checkFlatConfig({ lr: 'fast' }, 'c'), 'lr', 'fast');
  configError(() => checkFlatConfig({ dynamic: 'yes' }, 'c'), 'dynamic', 'yes');
  configError(() => checkFlatConfig({ connection: 3 }, 'c'), 'connection', '3');
  configError(() => checkFlatConfig({ lr: null }, 'c'), 'lr', 'null');
  configError(() => checkFlatConfig([1, 2], 'c'), 'object');
  configError(() => checkFlatConfig('tiny', 'c'), 'object', 'tiny');
});

test('bad values: unknown preset, minLr above lr, non-positive steps, unknown connection', () => {
  configError(() => resolveTrainConfig([{ preset: 'huge' }], VOCAB), 'huge');
  configError(() => resolveTrainConfig([{ lr: 1e-3, minLr: 1e-2 }], VOCAB), 'minLr', '0.01', '0.001');
  configError(() => resolveTrainConfig([{ steps: 0 }], VOCAB), 'steps', '0');
  configError(() => resolveTrainConfig([{ connection: 'bogus' }], VOCAB), 'bogus');
  configError(() => resolveTrainConfig([{ vocabSize: 100 }], VOCAB), '100', '194');
  configError(() => parseTrainFlags({ preset: 'huge' }), '--preset', 'huge');
  assert.equal(resolveTrainConfig([{ lr: 1e-3, minLr: 1e-3 }], VOCAB).minLr, 1e-3); // equal is allowed
});

test('precedence: defaults, then the preset, then the config file, then the flags', () => {
  // No preset anywhere: tiny.
  const plain = resolveTrainConfig([], VOCAB);
  assert.equal(plain.model.dModel, PRESETS.tiny.dModel);
  assert.equal(plain.model.connection.kind, TRAIN_DEFAULTS.connection);
  assert.equal(plain.minLr, PRESETS.tiny.lr / 10);
  assert.equal(plain.model.vocabSize, VOCAB);

  const file = { preset: 'small', dModel: 96, steps: 7, lr: 1e-3 };
  const flags = { steps: 9, seed: 5 };
  const c = resolveTrainConfig([file, flags], VOCAB);
  assert.equal(c.model.nLayers, PRESETS.small.layers); // preset over defaults
  assert.equal(c.model.dModel, 96); // file over preset
  assert.equal(c.lr, 1e-3);
  assert.equal(c.steps, 9); // flags over file
  assert.equal(c.seed, 5); // flags over defaults
  assert.equal(c.warmupSteps, PRESETS.small.warmup);
  // A preset given as a flag is still a preset: the file's keys override it.
  const d = resolveTrainConfig([{ dModel: 48 }, { preset: 'small' }], VOCAB);
  assert.equal(d.model.dModel, 48);
  assert.equal(d.model.nLayers, PRESETS.small.layers);
});

test('the CLI layers: config file read and checked, flags parsed and named', (t) => {
  const dir = tempDir(t, 'hcprobe-config-');
  const good = writeJson(path.join(dir, 'good.json'), { preset: 'tiny', layers: 3, steps: 50 });
  const flags = parseTrainFlags({ steps: '12', connection: 'hc', static: true, streams: '2', lr: '0.01' });
  assert.deepEqual(flags, { steps: 12, connection: 'hc', dynamic: false, streams: 2, lr: 0.01 });
  const c = resolveTrainConfig([readConfigFile(good), flags], VOCAB);
  assert.deepEqual([c.model.nLayers, c.steps, c.model.connection.kind, c.model.nStreams, c.lr], [3, 12, 'hc', 2, 0.01]);
  assert.equal(c.model.connection.kind === 'hc' && c.model.connection.dynamic, false);

  configError(() => readConfigFile(writeJson(path.join(dir, 'bad-key.json'), { stepz: 3 })), 'stepz', 'bad-key.json');
  configError(() => readConfigFile(path.join(dir, 'missing.json')), 'missing.json');
  const notJson = path.join(dir, 'not.json');
  writeJson(notJson, 0);
  configError(() => readConfigFile(notJson), 'object');
  configError(() => parseTrainFlags({ streams: '9' }), '--streams', '9');
  configError(() => parseTrainFlags({ connection: 'bogus' }), '--connection', 'bogus');
  configError(() => parseTrainFlags({ steps: '1.5' }), '--steps', '1.5');
});

test('every key of the defaults and presets is a known key of the right type', () => {
  for (const layer of [TRAIN_DEFAULTS, ...Object.values(PRESETS)]) assert.deepEqual(checkFlatConfig(layer, 'builtin'), layer);
  for (const k of Object.keys(TRAIN_KEYS)) assert.doesNotThrow(() => checkFlatConfig({}, k));
});
