// Mixing interventions on planted models: a static HC whose mixing is exactly the identity loses
// nothing under any intervention; an mHC-lite whose mixing is far from it does, and for it zeroing
// the off-diagonal (rows renormalised) is the identity again; freezing a dynamic HC's coefficients
// at their token means changes the loss. Shifting the streams one slot at every module costs
// nothing when reads and writes are uniform over streams and the mixing commutes with the shift,
// and costs loss once the reads favour one stream.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { cyclicShift, mixingInterventions } from '../../probes/mixing-interventions.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { tf } from '../../src/engine/tf.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import { disposeParams, initParams, type Params } from '../../src/model/params.ts';
import { perturb, randomBatch, tinyConfig } from '../model/helpers.ts';

before(async () => {
  await initBackend('cpu');
});

function batches(c: ModelConfig) {
  return [1, 2, 3].map((seed) => randomBatch(c, 100 + seed));
}

function run(c: ModelConfig, params: Params) {
  const bs = batches(c);
  try {
    return new Map(
      mixingInterventions(params, c, bs).map((r) => {
        assert.ok(r.ci_low !== null && r.ci_high !== null, `three batches give an interval: ${JSON.stringify(r)}`);
        return [r.name, { ...r, ci_low: r.ci_low, ci_high: r.ci_high }];
      }),
    );
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
    for (const name of ['identity', 'no_off_diagonal', 'token_mean', 'permuted'] as const) {
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

test('cyclicShift is A_r·P: column t of the result is column t − 1 of A_r', () => {
  const m = tf.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
  const shifted = cyclicShift(m);
  assert.deepEqual(Array.from(shifted.dataSync()), [3, 1, 2, 6, 4, 5, 9, 7, 8]);
  const P = tf.tensor([0, 1, 0, 0, 0, 1, 1, 0, 0], [3, 3]); // P[u][t] = 1 iff t = u + 1 mod 3
  assert.deepEqual(Array.from(tf.matMul(tf.reshape(m, [3, 3]), P).dataSync()), Array.from(shifted.dataSync()));
  tf.dispose([m, shifted, P]);
});

/**
 * A static HC whose streams start different (LSS init), every other weight moved, and whose
 * connection is set by hand: read weights `read(s)`, write weights 1, and a circulant mixing
 * 0.7·I + 0.3·P (it commutes with the shift).
 */
function shiftModel(read: (s: number, n: number) => number): { c: ModelConfig; params: Params } {
  const n = 3;
  const c = tinyConfig({ kind: 'hc', dynamic: false, dynamicNorm: 'rms' }, n, { kind: 'lss', center: 0.6 });
  const params = initParams(c, 7);
  perturb(params, 8);
  for (const [name, v] of params) {
    if (name.endsWith('static_beta')) tf.tidy(() => v.assign(tf.onesLike(v)));
    if (name.endsWith('static_alpha')) {
      const a = Float32Array.from({ length: n * (n + 1) }, (_, k) => {
        const s = Math.floor(k / (n + 1));
        const t = (k % (n + 1)) - 1;
        return t < 0 ? read(s, n) : t === s ? 0.7 : t === (s + 1) % n ? 0.3 : 0;
      });
      tf.tidy(() => v.assign(tf.tensor(a, v.shape)));
    }
  }
  return { c, params };
}

test('permuted: uniform reads and writes with shift-symmetric mixing cost exactly nothing', () => {
  const { c, params } = shiftModel((_s, n) => 1 / n);
  try {
    const r = run(c, params);
    const p = r.get('permuted');
    assert.ok(p && Math.abs(p.delta_ce) < 1e-6 && p.ci_high - p.ci_low < 1e-5, `permuted: ${JSON.stringify(p)}`);
    // The model does use its mixing, so a zero here is not a model that ignores its streams.
    assert.ok(Math.abs(r.get('identity')?.delta_ce as number) > 1e-4, JSON.stringify(r.get('identity')));
  } finally {
    disposeParams(params);
  }
});

test('permuted: reads that favour one stream make the shift cost loss', () => {
  const { c, params } = shiftModel((s) => (s === 0 ? 1 : 0));
  try {
    const p = run(c, params).get('permuted');
    assert.ok(p && Math.abs(p.delta_ce) > 1e-4, `permuted: ${JSON.stringify(p)}`);
    assert.ok(p.ci_low <= p.delta_ce && p.delta_ce <= p.ci_high);
  } finally {
    disposeParams(params);
  }
});

test('one batch: no interval (null bounds, not NaN that JSON would turn into null and a report into 0)', () => {
  const c = tinyConfig({ kind: 'hc', dynamic: true, dynamicNorm: 'rms' }, 3);
  const params = initParams(c, 5);
  const [b, ...rest] = batches(c);
  try {
    perturb(params, 6);
    for (const r of mixingInterventions(params, c, [b as (typeof rest)[number]])) {
      assert.equal(r.batches, 1);
      assert.ok(Number.isFinite(r.delta_ce), JSON.stringify(r));
      assert.equal(r.ci_low, null);
      assert.equal(r.ci_high, null);
    }
  } finally {
    disposeParams(params);
    for (const x of [b, ...rest]) if (x) tf.dispose([x.x, x.y]);
  }
});

test('mHC whose Sinkhorn output is a permutation (diagonal underflows to 0): no_off_diagonal is I, not 0/0', () => {
  const c = tinyConfig({ kind: 'mhc', sinkhornIters: 20 }, 3);
  const n = 3;
  const params = initParams(c, 9);
  try {
    perturb(params, 10);
    // Static logits R[s][t]: 0 on s → s+1 mod n, −200 elsewhere; exp(−200) is 0 in float32.
    for (const [name, v] of params) {
      if (name.endsWith('residual_scale')) tf.tidy(() => v.assign(tf.zerosLike(v)));
      if (name.endsWith('static_alpha')) {
        const a = v.dataSync().slice();
        for (let s = 0; s < n; s++) for (let t = 0; t < n; t++) a[s * (n + 1) + 1 + t] = t === (s + 1) % n ? 0 : -200;
        tf.tidy(() => v.assign(tf.tensor(a, v.shape)));
      }
    }
    const r = run(c, params);
    const id = r.get('identity');
    const off = r.get('no_off_diagonal');
    assert.ok(id && off && Number.isFinite(off.delta_ce), `no_off_diagonal: ${JSON.stringify(off)}`);
    assert.ok(Math.abs(off.delta_ce - id.delta_ce) < 1e-6, `${off.delta_ce} vs ${id.delta_ce}`);
    assert.ok(Math.abs(id.delta_ce) > 1e-4, 'replacing a permutation by I changes the loss');
  } finally {
    disposeParams(params);
  }
});
