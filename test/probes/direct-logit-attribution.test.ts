// Direct logit attribution on planted models: the pieces sum to the model's own logit of the
// target (computed here by a separate forward) on random hc, mhc-lite and residual models; a stream
// that no module reads or writes, with identity mixing, carries exactly the embedding's share.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { directLogitAttribution, tokenAttribution } from '../../probes/direct-logit-attribution.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { tf, type Tensor } from '../../src/engine/tf.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import { layerNorm } from '../../src/model/norms.ts';
import { disposeParams, initParams, param, type Params } from '../../src/model/params.ts';
import { forward } from '../../src/model/transformer.ts';
import { perturb, randomBatch, tinyConfig } from '../model/helpers.ts';

before(async () => {
  await initBackend('cpu');
});

/** The model's logit of each target minus the mean logit, from a forward of its own. */
function targetLogits(params: Params, c: ModelConfig, x: Tensor, y: Tensor, baseline: 'mean_logit' | 'none'): Float32Array {
  return tf.tidy(() => {
    const logits = tf.reshape(forward(params, c, x), [-1, c.vocabSize]);
    const picked = tf.sum(tf.mul(logits, tf.oneHot(tf.reshape(y, [-1]), c.vocabSize)), -1);
    return (baseline === 'mean_logit' ? tf.sub(picked, tf.mean(logits, -1)) : picked).dataSync() as Float32Array;
  });
}

const CASES: { name: string; config: ModelConfig }[] = [
  { name: 'hc dynamic', config: tinyConfig({ kind: 'hc', dynamic: true, dynamicNorm: 'rms' }, 3) },
  { name: 'mhc-lite lss', config: tinyConfig({ kind: 'mhc-lite' }, 3, { kind: 'lss', center: 0.6 }) },
  { name: 'residual', config: tinyConfig({ kind: 'residual' }, 1) },
  // With biases ln_f has a bias b: the readout's n·b·u part is carried by no source.
  { name: 'mhc with biases', config: { ...tinyConfig({ kind: 'mhc', sinkhornIters: 20 }, 3), bias: true } },
];

for (const { name, config: c } of CASES) {
  test(`${name}: per token, the pieces plus the ln_f bias part are the model's logit`, () => {
    const params = initParams(c, 11);
    const { x, y } = randomBatch(c, 12);
    try {
      perturb(params, 13);
      for (const baseline of ['mean_logit', 'none'] as const) {
        const want = targetLogits(params, c, x, y, baseline);
        const a = tokenAttribution(params, c, x, y, baseline);
        assert.equal(a.tokens, want.length);
        assert.deepEqual(a.sources, ['embed', '0.attn', '0.mlp', '1.attn', '1.mlp']);
        const S = a.sources.length * c.nStreams;
        let spread = 0;
        for (let t = 0; t < a.tokens; t++) {
          let total = a.lnBias[t] as number;
          for (let j = 0; j < S; j++) total += a.values[t * S + j] as number;
          const w = want[t] as number;
          assert.ok(Math.abs(total - w) < 2e-4 * (1 + Math.abs(w)), `${baseline} token ${t}: ${total} vs ${w}`);
          spread = Math.max(spread, Math.abs(w));
        }
        assert.ok(spread > 0.05, 'the logits are not trivially zero');
        if (c.bias) assert.ok(Array.from(a.lnBias).some((v) => Math.abs(v) > 1e-3), 'the ln_f bias part is exercised');
      }
      const before = tf.memory().numTensors;
      const r = directLogitAttribution(params, c, [{ x, y }]);
      assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
      assert.ok(r.max_abs_error < 1e-3, `max error ${r.max_abs_error}`);
      const sum = r.matrix.flat().reduce((s, v) => s + v, 0);
      assert.ok(Math.abs(sum + r.ln_bias - r.logit) < 1e-4);
      assert.ok(Math.abs(r.per_stream.reduce((s, v) => s + v, 0) - sum) < 1e-9);
      const mean = targetLogits(params, c, x, y, 'mean_logit').reduce((s, v) => s + v, 0) / r.tokens;
      assert.ok(Math.abs(r.logit - mean) < 1e-5, `${r.logit} vs ${mean}`);
    } finally {
      disposeParams(params);
      tf.dispose([x, y]);
    }
  });
}

/** A static HC whose stream 2 is neither read nor written by any module, all mixings the identity. */
function isolatedStream2(c: ModelConfig, seed: number): Params {
  const params = initParams(c, seed);
  perturb(params, seed + 1);
  const n = c.nStreams;
  for (const [name, v] of params) {
    if (name.endsWith('static_alpha')) {
      const a = Float32Array.from({ length: n * (n + 1) }, (_, i) => {
        const s = Math.floor(i / (n + 1));
        const t = i % (n + 1);
        return t === 0 ? (s === 2 ? 0 : 0.5 + 0.25 * s) : t - 1 === s ? 1 : 0;
      });
      tf.tidy(() => v.assign(tf.tensor(a, v.shape)));
    }
    if (name.endsWith('static_beta')) tf.tidy(() => v.assign(tf.tensor([0.7, 1.3, 0], v.shape)));
  }
  return params;
}

test('stream 2 never read or written, identity mixing: it carries exactly the embedding, through ln_f alone', () => {
  const c = tinyConfig({ kind: 'hc', dynamic: false, dynamicNorm: 'rms' }, 3);
  const params = isolatedStream2(c, 21);
  const { x, y } = randomBatch(c, 22);
  try {
    const a = tokenAttribution(params, c, x, y, 'mean_logit');
    const S = a.sources.length;
    // Independently: stream 2 ends as h⁰ = wte[x] + wpe, so its piece is ln_f(h⁰)·u − b·u.
    const want = tf.tidy(() => {
      const wte = param(params, 'transformer.wte.weight');
      const h0 = tf.add(tf.gather(wte, tf.reshape(x, [-1])), tf.tile(tf.slice(param(params, 'transformer.wpe.weight'), [0, 0], [c.blockSize, -1]), [2, 1]));
      const u = tf.sub(tf.gather(wte, tf.reshape(y, [-1])), tf.mean(wte, 0));
      const normed = layerNorm(h0, param(params, 'transformer.ln_f.weight'), undefined);
      return tf.sum(tf.mul(normed, u), -1).dataSync() as Float32Array;
    });
    for (let t = 0; t < a.tokens; t++) {
      for (let s = 1; s < S; s++) assert.ok(a.values[(t * S + s) * 3 + 2] === 0, `module ${a.sources[s]} reaches stream 2`);
      const e = a.values[t * S * 3 + 2] as number;
      assert.ok(Math.abs(e - (want[t] as number)) < 1e-4, `token ${t}: ${e} vs ${want[t]}`);
    }
  } finally {
    disposeParams(params);
    tf.dispose([x, y]);
  }
});

test('stream 2 isolated and the embedding kept out of it (LSS row 2 zero): stream 2 carries nothing', () => {
  const c = tinyConfig({ kind: 'hc', dynamic: false, dynamicNorm: 'rms' }, 3, { kind: 'lss', center: 0.6 });
  const params = isolatedStream2(c, 31);
  const { x, y } = randomBatch(c, 32);
  try {
    const lss = params.get('expand_stream.lss');
    assert.ok(lss);
    const v = lss.dataSync().slice();
    v.fill(0, 2 * c.dModel, 3 * c.dModel);
    tf.tidy(() => lss.assign(tf.tensor(v, lss.shape)));
    const r = directLogitAttribution(params, c, [{ x, y }]);
    assert.ok(r.per_stream[2] === 0, `stream 2 carries ${r.per_stream[2]}`);
    for (const row of r.matrix) assert.ok(row[2] === 0);
    assert.ok(Math.abs(r.per_stream[0] as number) + Math.abs(r.per_stream[1] as number) > 1e-3, 'the other streams carry the logit');
    assert.ok(r.max_abs_error < 1e-3);
  } finally {
    disposeParams(params);
    tf.dispose([x, y]);
  }
});
