// Mixing interventions on planted models: a static HC whose mixing is exactly the identity loses
// nothing under any intervention; an mHC-lite whose mixing is far from it does, and for it zeroing
// the off-diagonal (rows renormalised) is the identity again; freezing a dynamic HC's coefficients
// at their token means changes the loss.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { mixingInterventions } from '../../probes/mixing-interventions.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { tf } from '../../src/engine/tf.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import { disposeParams, initParams, type Params } from '../../src/model/params.ts';
import { perturb, randomTokens, tinyConfig } from '../model/helpers.ts';

before(async () => {
  await initBackend('cpu');
});

function batches(c: ModelConfig) {
  return [1, 2, 3].map((seed) => {
    const w = randomTokens(100 + seed, 2, c.blockSize + 1, c.vocabSize);
    const out = { x: tf.slice(w, [0, 0], [2, c.blockSize]), y: tf.slice(w, [0, 1], [2, c.blockSize]) };
    w.dispose();
    return out;
  });
}

function run(c: ModelConfig, params: Params) {
  const bs = batches(c);
  try {
    return new Map(mixingInterventions(params, c, bs).map((r) => [r.name, r]));
  } finally {
    for (const b of bs) tf.dispose([b.x, b.y]);
  }
}

test('static HC with identity mixing: every intervention costs exactly nothing', () => {
  const c = tinyConfig({ kind: 'hc', dynamic: false, dynamicNorm: 'rms' }, 3);
  const params = initParams(c, 1);
  try {
    // Move every weight but the HC coefficients, which stay A_r = I, A_m = e_r, B = 1.
    const kept = new Map([...params].filter(([n]) => /static_(alpha|beta)$/.test(n)).map(([n, v]) => [n, v.dataSync().slice()]));
    perturb(params, 2);
    for (const [n, data] of kept) tf.tidy(() => params.get(n)?.assign(tf.tensor(data, params.get(n)?.shape)));
    const r = run(c, params);
    for (const name of ['identity', 'no_off_diagonal', 'token_mean'] as const) {
      const x = r.get(name);
      assert.ok(x && Math.abs(x.delta_ce) < 1e-6 && x.ci_high - x.ci_low < 1e-5, `${name}: ${JSON.stringify(x)}`);
      assert.equal(x.batches, 3);
    }
  } finally {
    disposeParams(params);
  }
});

test('mHC-lite far from identity: the identity costs loss, and zeroing the off-diagonal is the identity', () => {
  const c = tinyConfig({ kind: 'mhc-lite' }, 3, { kind: 'lss', center: 0.6 });
  const params = initParams(c, 3);
  try {
    perturb(params, 4); // permutation logits N(−1, 1): the mixing is far from I
    run(c, params); // the first forward keeps the engine's cached constants
    const before = tf.memory().numTensors;
    const r = run(c, params);
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
    const id = r.get('identity');
    const off = r.get('no_off_diagonal');
    assert.ok(id && Math.abs(id.delta_ce) > 1e-3, `identity: ${JSON.stringify(id)}`);
    assert.ok(off && Math.abs(off.delta_ce - id.delta_ce) < 1e-6, `${off?.delta_ce} vs ${id.delta_ce}`);
    assert.ok(id.ci_low <= id.delta_ce && id.delta_ce <= id.ci_high);
  } finally {
    disposeParams(params);
  }
});

test('dynamic HC: freezing the coefficients at their token means changes the loss', () => {
  const c = tinyConfig({ kind: 'hc', dynamic: true, dynamicNorm: 'rms' }, 3);
  const params = initParams(c, 5);
  try {
    perturb(params, 6);
    const r = run(c, params);
    const mean = r.get('token_mean');
    assert.ok(mean && Math.abs(mean.delta_ce) > 1e-4, `token_mean: ${JSON.stringify(mean)}`);
  } finally {
    disposeParams(params);
  }
});
