// Ablate and rescue on planted models: a stream that carries nothing costs nothing to zero and
// adds nothing to any pair; streams that are exact copies rescue one another fully; and putting
// a stream's own clean content back is exactly the clean model, whatever the model.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ablateRescue, ablateRescuePasses, MIN_ABLATE_DELTA } from '../../probes/ablate-rescue.ts';
import type { AblateRescue } from '../../probes/results-schema.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { tf } from '../../src/engine/tf.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import { disposeParams, initParams, type Params } from '../../src/model/params.ts';
import { perturb, randomBatch, tinyConfig } from '../model/helpers.ts';

before(async () => {
  await initBackend('cpu');
});

function batches(c: ModelConfig) {
  return [1, 2, 3].map((seed) => randomBatch(c, 200 + seed));
}

function run(c: ModelConfig, params: Params): { r: AblateRescue; passes: number } {
  const bs = batches(c);
  let passes = 0;
  try {
    return { r: ablateRescue(params, c, bs, () => passes++), passes };
  } finally {
    for (const b of bs) tf.dispose([b.x, b.y]);
  }
}

/** Sets every static HC module's [A_m | A_r] (n × (n+1), row s) and B by hand. */
function setStatic(params: Params, alpha: (s: number, col: number) => number | undefined, beta: (s: number) => number): void {
  for (const [name, v] of params) {
    if (name.endsWith('static_beta')) {
      const n = v.shape[0] as number;
      tf.tidy(() => v.assign(tf.tensor(Float32Array.from({ length: n }, (_, s) => beta(s)), v.shape)));
    }
    if (name.endsWith('static_alpha')) {
      const [n, w] = v.shape as [number, number];
      const cur = v.dataSync();
      tf.tidy(() => v.assign(tf.tensor(Float32Array.from({ length: n * w }, (_, k) => alpha(Math.floor(k / w), k % w) ?? (cur[k] as number)), v.shape)));
    }
  }
}

function checkShape(r: AblateRescue, c: ModelConfig, passes: number): void {
  const { nLayers: L, nStreams: n } = c;
  assert.equal(passes, ablateRescuePasses(c, 3));
  assert.equal(r.batches, 3);
  assert.equal(r.tokens, 3 * 2 * c.blockSize);
  for (const m of [r.pair_ablation, r.rescue, r.rescued_fraction]) {
    assert.equal(m.length, L);
    for (const rows of m) {
      assert.equal(rows.length, n);
      for (const row of rows) assert.equal(row.length, n);
    }
  }
  for (let l = 0; l < L; l++) {
    const energy = r.energy[l] as number[];
    assert.equal(r.dominant[l], energy.indexOf(Math.max(...energy)));
    for (let i = 0; i < n; i++) {
      assert.equal(r.pair_ablation[l]?.[i]?.[i], r.ablate[l]?.[i], 'the diagonal is the single ablation');
      for (let j = 0; j < n; j++) assert.equal(r.pair_ablation[l]?.[i]?.[j], r.pair_ablation[l]?.[j]?.[i], 'pair ablation is symmetric');
    }
  }
}

test('a stream that carries nothing: zeroing it costs 0, and every pair with it is the other stream alone', () => {
  const c = tinyConfig({ kind: 'hc', dynamic: false, dynamicNorm: 'rms' }, 3);
  const params = initParams(c, 11);
  try {
    perturb(params, 12);
    // Stream 2: read weight 0, write weight 0, and the mixing neither moves it nor keeps it.
    setStatic(params, (s, col) => (s === 2 || col === 3 ? 0 : undefined), (s) => (s === 2 ? 0 : 1));
    const { r, passes } = run(c, params);
    checkShape(r, c, passes);
    for (let l = 0; l < c.nLayers; l++) {
      assert.equal(r.ablate[l]?.[2], 0, `layer ${l}: zeroing the empty stream`);
      assert.equal(r.energy[l]?.[2], 0);
      assert.notEqual(r.dominant[l], 2);
      for (const i of [0, 1]) assert.equal(r.pair_ablation[l]?.[i]?.[2], r.ablate[l]?.[i], `layer ${l}: pair (${i}, 2)`);
      assert.ok(r.rescued_fraction[l]?.[2]?.every((f) => f === null), 'nothing to rescue');
      assert.ok(Math.abs(r.ablate[l]?.[0] as number) > MIN_ABLATE_DELTA, `layer ${l}: the other streams matter: ${r.ablate[l]}`);
    }
  } finally {
    disposeParams(params);
  }
});

test('streams that are exact copies: any stream rescues any other fully', () => {
  const c = tinyConfig({ kind: 'hc', dynamic: false, dynamicNorm: 'rms' }, 2);
  const params = initParams(c, 13);
  try {
    perturb(params, 14);
    // Copy init, uniform reads and writes, mixing [[a, b], [b, a]]: the two streams stay equal.
    const A = [[0.8, 0.3], [0.3, 0.8]];
    setStatic(params, (s, col) => (col === 0 ? 0.5 : (A[s] as number[])[col - 1]), () => 1);
    const { r, passes } = run(c, params);
    checkShape(r, c, passes);
    for (let l = 0; l < c.nLayers; l++) {
      for (let i = 0; i < 2; i++) {
        assert.ok(Math.abs(r.ablate[l]?.[i] as number) > MIN_ABLATE_DELTA, `layer ${l}: zeroing a copy changes the loss: ${r.ablate[l]}`);
        for (let j = 0; j < 2; j++) {
          assert.ok(Math.abs(r.rescue[l]?.[i]?.[j] as number) < 1e-6, `layer ${l}: rescue ${i} ← ${j}: ${r.rescue[l]?.[i]?.[j]}`);
          assert.ok(Math.abs((r.rescued_fraction[l]?.[i]?.[j] as number) - 1) < 1e-3, `fraction ${r.rescued_fraction[l]?.[i]?.[j]}`);
        }
      }
    }
  } finally {
    disposeParams(params);
  }
});

for (const { name, config } of [
  { name: 'dynamic HC', config: tinyConfig({ kind: 'hc', dynamic: true, dynamicNorm: 'rms' }, 3) },
  { name: 'mHC-lite, LSS init', config: tinyConfig({ kind: 'mhc-lite' }, 3, { kind: 'lss', center: 0.6 }) },
]) {
  test(`${name}: restoring a stream from the clean run changes nothing, copying in another stream does`, () => {
    const params = initParams(config, 15);
    try {
      perturb(params, 16);
      run(config, params); // the first forward keeps the engine's cached constants
      const before = tf.memory().numTensors;
      const { r, passes } = run(config, params);
      assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
      checkShape(r, config, passes);
      for (let l = 0; l < config.nLayers; l++) {
        for (let i = 0; i < config.nStreams; i++) {
          assert.equal(r.rescue[l]?.[i]?.[i], 0, `layer ${l}, stream ${i}: restored from the clean run`);
          const f = r.rescued_fraction[l]?.[i]?.[i];
          assert.ok(f === null || f === 1, `fraction ${f}`);
        }
      }
      assert.ok(r.rescue.flat(2).some((v) => Math.abs(v) > 1e-4), 'streams that differ do not rescue each other for free');
    } finally {
      disposeParams(params);
    }
  });
}

test('one stream: refused', () => {
  const c = tinyConfig({ kind: 'residual' }, 1);
  const params = initParams(c, 1);
  try {
    assert.equal(ablateRescuePasses(c, 4), 0);
    assert.throws(() => run(c, params), /two or more streams/);
  } finally {
    disposeParams(params);
  }
});
