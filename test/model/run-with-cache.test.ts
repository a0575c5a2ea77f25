// runWithCache: its logits are the unhooked forward's, its cache holds exactly what an
// observing hook sees, every tensor it returns is the caller's to free, and nothing else leaks.
// cacheActivations: the same cache, from a forward that stops after the last block it needs.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.ts';
import { tf, type Tensor } from '../../src/engine/tf.ts';
import { ConfigError } from '../../src/errors.ts';
import { type HookFn, hookName } from '../../src/model/hooks.ts';
import { disposeParams, initParams } from '../../src/model/params.ts';
import { cacheActivations, disposeCachedRun, runWithCache } from '../../src/model/run-with-cache.ts';
import { forward } from '../../src/model/transformer.ts';
import { KINDS, perturb, randomTokens } from './helpers.ts';

before(async () => {
  await initBackend('cpu');
});

const NAMES = [
  'hook_embed',
  'blocks.0.hook_resid_post',
  'blocks.1.hook_resid_pre', // the same activation as the line above
  'blocks.1.hook_resid_mid[0]',
  'blocks.0.hook_mlp_out',
  'ln_final.hook_normalized',
];

for (const { name, config } of KINDS) {
  test(`${name}: runWithCache equals a forward with observing hooks, and leaks nothing`, () => {
    const p = initParams(config, 21);
    perturb(p, 22);
    const tokens = randomTokens(23, 2, 5, config.vocabSize);
    const coeffs = config.connection.kind === 'residual' ? [] : [hookName({ kind: 'mixing', layer: 1, module: 'attn' }), hookName({ kind: 'read', layer: 0, module: 'mlp' })];
    const names = [...NAMES, ...coeffs];
    try {
      const seen = new Map<string, Float32Array>();
      const hooks = new Map<string, HookFn>(names.map((n) => [n, (x) => void seen.set(n, x.dataSync().slice() as Float32Array)]));
      const plain = tf.tidy(() => forward(p, config, tokens).dataSync().slice());
      const hooked = tf.tidy(() => forward(p, config, tokens, { hooks }).dataSync().slice());
      disposeCachedRun(runWithCache(p, config, tokens, names)); // warm-up: tfjs' one-off tensors
      const before = tf.memory().numTensors;
      const run = runWithCache(p, config, tokens, names);
      assert.equal(tf.memory().numTensors, before + 1 + names.length, 'the logits and one tensor per name');
      assert.deepEqual(run.logits.dataSync(), plain);
      assert.deepEqual(hooked, plain);
      assert.deepEqual([...run.cache.keys()].sort(), [...names].sort());
      for (const n of names) assert.deepEqual((run.cache.get(n) as Tensor).dataSync(), seen.get(n), n);
      // Two names of one activation are two tensors: freeing one leaves the other readable.
      const post = run.cache.get('blocks.0.hook_resid_post') as Tensor;
      const pre = run.cache.get('blocks.1.hook_resid_pre') as Tensor;
      post.dispose();
      assert.deepEqual(pre.dataSync(), seen.get('blocks.1.hook_resid_pre'));
      disposeCachedRun(run);
      assert.equal(tf.memory().numTensors, before, 'after disposeCachedRun');
    } finally {
      disposeParams(p);
      tokens.dispose();
    }
  });
}

test('runWithCache refuses junk and sites the model lacks, naming them, and frees what it made', () => {
  const residual = KINDS[0]?.config;
  assert.ok(residual && residual.connection.kind === 'residual');
  const p = initParams(residual, 31);
  const tokens = randomTokens(32, 1, 4, residual.vocabSize);
  try {
    disposeCachedRun(runWithCache(p, residual, tokens, ['hook_embed']));
    const before = tf.memory().numTensors;
    for (const bad of ['blocks.0.hook_resid', 'blocks.2.hook_resid_post', 'blocks.0.hc_attn.hook_read', 'blocks.0.hook_resid_pre[1]']) {
      assert.throws(() => runWithCache(p, residual, tokens, ['hook_embed', bad]), (e: unknown) => e instanceof ConfigError && e.message.includes(JSON.stringify(bad)), bad);
      assert.equal(tf.memory().numTensors, before, bad);
    }
  } finally {
    disposeParams(p);
    tokens.dispose();
  }
});

for (const { name, config } of KINDS) {
  test(`${name}: cacheActivations equals runWithCache's cache, runs no block past the last name's, and leaks nothing`, () => {
    const p = initParams(config, 41);
    perturb(p, 42);
    const tokens = randomTokens(43, 2, 5, config.vocabSize);
    const coeffs = config.connection.kind === 'residual' ? [] : [hookName({ kind: 'write', layer: 0, module: 'mlp' })];
    const cases = [['hook_embed'], ['blocks.0.hook_resid_post', 'blocks.0.hook_resid_mid[0]', ...coeffs], NAMES];
    try {
      disposeCachedRun(runWithCache(p, config, tokens, NAMES)); // warm-up: tfjs' one-off tensors
      for (const names of cases) {
        const run = runWithCache(p, config, tokens, names);
        const before = tf.memory().numTensors;
        const cache = cacheActivations(p, config, tokens, names);
        assert.equal(tf.memory().numTensors, before + names.length, `${names}: one tensor per name`);
        assert.deepEqual([...cache.keys()].sort(), [...names].sort());
        for (const n of names) assert.deepEqual((cache.get(n) as Tensor).dataSync(), (run.cache.get(n) as Tensor).dataSync(), n);
        for (const t of cache.values()) t.dispose();
        disposeCachedRun(run);
      }
      // Without block 1's weights (nor the unembedding's), names in block 0 still resolve: the forward stopped there.
      const block0 = new Map([...p].filter(([k]) => !k.startsWith('transformer.h.1.') && !k.startsWith('transformer.ln_f')));
      assert.ok(block0.size < p.size);
      const cache = cacheActivations(block0, config, tokens, cases[1] as string[]);
      for (const t of cache.values()) t.dispose();
      assert.throws(() => cacheActivations(block0, config, tokens, ['blocks.1.hook_resid_pre']));
    } finally {
      disposeParams(p);
      tokens.dispose();
    }
  });
}

test('cacheActivations refuses sites the model lacks, naming them, and frees what it made', () => {
  const residual = KINDS[0]?.config as (typeof KINDS)[number]['config'];
  const p = initParams(residual, 51);
  const tokens = randomTokens(52, 1, 4, residual.vocabSize);
  try {
    for (const t of cacheActivations(p, residual, tokens, ['hook_embed']).values()) t.dispose();
    const before = tf.memory().numTensors;
    for (const bad of ['blocks.2.hook_resid_post', 'blocks.0.hc_attn.hook_read']) {
      assert.throws(() => cacheActivations(p, residual, tokens, ['hook_embed', bad]), (e: unknown) => e instanceof ConfigError && e.message.includes(JSON.stringify(bad)), bad);
      assert.equal(tf.memory().numTensors, before, bad);
    }
  } finally {
    disposeParams(p);
    tokens.dispose();
  }
});
