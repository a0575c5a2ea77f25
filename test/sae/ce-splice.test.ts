// KL(clean ‖ spliced) in the CE-splice passes: zero for an identity splice, positive for noisy and
// zeroed activations, and equal to a direct computation from the two models' logits.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.ts';
import { rngFor } from '../../src/engine/random.ts';
import { tf, type Tensor } from '../../src/engine/tf.ts';
import { siteHook } from '../../src/capture/schema.ts';
import { MODEL_DEFAULTS, type ModelConfig } from '../../src/model/config.ts';
import { disposeParams, initParams } from '../../src/model/params.ts';
import { forward } from '../../src/model/transformer.ts';
import type { EvalSet } from '../../sae/activations.ts';
import { spliceCe } from '../../sae/ce-splice.ts';

before(async () => {
  await initBackend('wasm');
});

test('KL is 0 for the identity splice, positive otherwise, and matches KL from the logits', () => {
  const config: ModelConfig = { ...MODEL_DEFAULTS, vocabSize: 32, blockSize: 8, nLayers: 2, nHeads: 2, dModel: 16, nStreams: 2 };
  const params = initParams(config, 51);
  const rng = rngFor(52, 'tokens');
  const T = 8;
  const rows = 4 * T;
  const token = Int32Array.from({ length: rows }, () => rng.int(config.vocabSize));
  const ev: EvalSet = { rows, seqLen: T, seq: new Int32Array(rows), pos: new Int32Array(rows), token, labels: new Map(), streams: [] };
  const run = (replace: ((a: Float32Array) => Float32Array) | null) => spliceCe(params, config, ev, 'resid_post', 'mlp', 0, { mode: 'concat' }, replace, { kl: true, seqsPerBatch: 3 });
  const clean = run(null);
  assert.equal(clean.kl, null, 'the clean pass has no KL');
  const same = run((a) => Float32Array.from(a));
  assert.ok(Math.abs(same.kl as number) < 1e-5 && Math.abs(same.ce - clean.ce) < 1e-5, `identity: KL ${same.kl}`);
  const noisy = run((a) => a.map((v) => v + 0.5 * rng.normal()));
  const zero = run((a) => new Float32Array(a.length));
  assert.ok((noisy.kl as number) > 1e-4 && (zero.kl as number) > 1e-4, `KL noisy ${noisy.kl}, zero ${zero.kl}`);
  // Direct: zeroing layer 0's resid_post for all streams, KL over positions 0…T−2.
  const direct = tf.tidy(() => {
    const tokens = tf.tensor2d(token, [4, T], 'int32');
    const hooks = new Map([[siteHook('resid_post', 0, 'mlp') as string, (x: Tensor) => tf.zerosLike(x)]]);
    const p = tf.logSoftmax(tf.slice(forward(params, config, tokens), [0, 0, 0], [4, T - 1, config.vocabSize]));
    const q = tf.logSoftmax(tf.slice(forward(params, config, tokens, { hooks }), [0, 0, 0], [4, T - 1, config.vocabSize]));
    return tf.mean(tf.sum(tf.mul(tf.exp(p), tf.sub(p, q)), -1)).dataSync()[0] as number;
  });
  assert.ok(Math.abs(direct - (zero.kl as number)) < 1e-5 * Math.max(1, direct), `direct ${direct} vs spliced ${zero.kl}`);
  disposeParams(params);
});
