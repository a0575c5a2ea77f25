// The engine's constant cache (src/engine/constants.ts): one tensor per key and backend, kept
// out of tf.tidy; after the first forward, forwards and backwards add no tensors; a backend
// never computes with another backend's constant (tfjs would silently move its data over).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initBackend } from '../../src/engine/backend.ts';
import { constant, constantMemory, disposeConstants } from '../../src/engine/constants.ts';
import { type Scalar, type Tensor, tf } from '../../src/engine/tf.ts';
import { disposeParams, initParams, type Params } from '../../src/model/params.ts';
import { forward, lossFn } from '../../src/model/transformer.ts';
import { perturb, randomTokens, tinyConfig } from '../model/helpers.ts';

test('a constant is built once per key, outlives tf.tidy, and is built again once disposed', async () => {
  await initBackend('wasm');
  let builds = 0;
  const build = () => {
    builds++;
    return tf.tensor([1, 2, 3]);
  };
  const before = tf.memory().numTensors;
  const a = tf.tidy(() => constant('test.a', build));
  const b = tf.tidy(() => constant('test.a', build));
  assert.equal(b, a);
  assert.equal(builds, 1);
  assert.ok(!a.isDisposed, 'tf.tidy disposed the constant');
  assert.equal(tf.memory().numTensors, before + 1, 'the build left tensors behind');
  assert.deepEqual(constantMemory(), { numTensors: 1, numBytes: 12 });
  a.dispose();
  const c = constant('test.a', build);
  assert.notEqual(c, a);
  assert.equal(builds, 2);
  assert.deepEqual(Array.from(c.dataSync()), [1, 2, 3]);
  disposeConstants();
  assert.ok(c.isDisposed);
  assert.deepEqual(constantMemory(), { numTensors: 0, numBytes: 0 });
  assert.equal(tf.memory().numTensors, before);
});

// mHC-lite with n = 3: the causal mask and the 3! permutation matrices are its constants.
const config = tinyConfig({ kind: 'mhc-lite' }, 3);

/** A forward (tidied) and a backward of lossFn, leaving nothing but what the engine keeps. */
function step(p: Params, tokens: Tensor, targets: Tensor): void {
  tf.tidy(() => void forward(p, config, tokens).dataSync());
  const { value, grads } = tf.variableGrads(() => lossFn(p, config, tokens, targets) as Scalar);
  value.dispose();
  tf.dispose(grads);
}

test('repeated forwards and backwards add no tensors after the first; each backend builds its own constants', async () => {
  // wasm first: the cpu backend turns on tfjs' IS_TEST leak check, which misreads wasm's
  // logSoftmax under a gradient tape as a leak.
  const wasmIds: number[] = [];
  for (const backend of ['wasm', 'cpu'] as const) {
    await initBackend(backend);
    const p = initParams(config, 61);
    perturb(p, 62);
    const tokens = randomTokens(63, 2, 8, config.vocabSize);
    const targets = randomTokens(64, 2, 8, config.vocabSize);
    const before = tf.memory().numTensors;
    const kept = constantMemory().numTensors;
    step(p, tokens, targets);
    const after = tf.memory().numTensors;
    // the mask, the permutation matrices, and the small ones tensors of broadcast copies (stream
    // expansion, reduction gradients: engine/ops/broadcast-copy.ts)
    const built = constantMemory().numTensors - kept;
    assert.ok(built >= 2, `${backend}: the mask and the permutation matrices (${built} constants)`);
    assert.equal(after - before, built, `${backend}: the first step keeps its constants and nothing else`);
    for (let i = 0; i < 3; i++) {
      step(p, tokens, targets);
      assert.equal(tf.memory().numTensors, after, `${backend}: step ${i + 2}`);
    }
    disposeParams(p);
    tf.dispose([tokens, targets]);
    wasmIds.push(tf.findBackend('wasm').numDataIds());
  }
  // Had the cpu forwards used a constant built on wasm, tfjs would have moved its data to cpu.
  assert.equal(wasmIds[1], wasmIds[0], 'data left the wasm backend during the cpu forwards');
});
