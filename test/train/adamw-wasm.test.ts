// AdamW on wasm in place (src/engine/wasm/tfjs-kernels.ts: adamwInPlace, reached through
// AdamW.clipAndStep) against the same AdamW's tfjs ops (clipByGlobalNorm, then step) on the same
// backend: three steps on a model whose tensors include sizes that are not a multiple of 4 (the
// kernels' scalar tails). Without clipping the two agree bit for bit; with clipping the norm is
// summed in another order, so they agree to float32 rounding (1e-6 of the value, or of lr 1e-2).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initBackend } from '../../src/engine/backend.ts';
import { type Tensor, tf } from '../../src/engine/tf.ts';
import { MODEL_DEFAULTS, type ModelConfig, validateModelConfig } from '../../src/model/config.ts';
import { disposeParams, initParams, type Params, paramSpecs } from '../../src/model/params.ts';
import { AdamW, clipByGlobalNorm, optimizerGroups } from '../../src/train/optimizer.ts';

const model: ModelConfig = validateModelConfig({ ...MODEL_DEFAULTS, vocabSize: 13, blockSize: 8, nLayers: 2, nHeads: 2, dModel: 8, nStreams: 3, connection: { kind: 'hc', dynamic: true, dynamicNorm: 'rms' } });
const ADAM = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };

function gradsFor(params: Params, step: number, scale: number): Map<string, Tensor> {
  return new Map([...params].filter(([, p]) => p.trainable).map(([name, p], i) => [name, tf.tensor(Array.from({ length: p.size }, (_, j) => Math.sin(step * 7.1 + i * 3.3 + j * 0.77) * scale), p.shape)]));
}

function run(heap: boolean, maxNorm: number, scale: number): { norms: number[]; values: Map<string, Float32Array> } {
  const params = initParams(model, 3);
  const opt = new AdamW(params, optimizerGroups(params, paramSpecs(model, 3)), ADAM);
  const norms: number[] = [];
  for (let s = 1; s <= 3; s++) {
    const grads = gradsFor(params, s, scale);
    if (heap) norms.push(opt.clipAndStep(grads, 1e-2, maxNorm));
    else {
      const clipped = clipByGlobalNorm(grads, maxNorm);
      opt.step(clipped.grads, 1e-2);
      norms.push(clipped.norm);
      for (const [name, g] of clipped.grads) if (grads.get(name) !== g) g.dispose();
    }
    for (const g of grads.values()) g.dispose();
  }
  const values = new Map([...params].map(([n, p]) => [n, p.dataSync() as Float32Array]));
  const { m, v } = opt.moments();
  for (const [n, x] of m) values.set(`m.${n}`, x);
  for (const [n, x] of v) values.set(`v.${n}`, x);
  opt.dispose();
  disposeParams(params);
  return { norms, values };
}

test('model tensors include sizes that are not a multiple of 4', () => {
  const params = initParams(model, 3);
  assert.ok([...params.values()].some((p) => p.trainable && p.size % 4 !== 0));
  disposeParams(params);
});

for (const [what, maxNorm, scale] of [['without clipping', 0, 0.01], ['with clipping', 1, 0.5]] as const) {
  test(`AdamW in place on wasm equals its tfjs ops, ${what}`, async () => {
    await initBackend('wasm');
    const heap = run(true, maxNorm, scale);
    const ops = run(false, maxNorm, scale);
    for (let i = 0; i < 3; i++) assert.ok(Math.abs((heap.norms[i] as number) - (ops.norms[i] as number)) <= 1e-6 * (ops.norms[i] as number), `norm ${heap.norms[i]} vs ${ops.norms[i]}`);
    if (maxNorm > 0) assert.ok((ops.norms[0] as number) > maxNorm, 'the gradients are clipped');
    for (const [name, want] of ops.values) {
      const got = heap.values.get(name) as Float32Array;
      if (maxNorm === 0) assert.deepEqual(got, want, name);
      else for (let j = 0; j < want.length; j++) assert.ok(Math.abs((got[j] as number) - (want[j] as number)) <= 1e-6 * Math.max(1e-2, Math.abs(want[j] as number)), `${name}[${j}]: ${got[j]} vs ${want[j]}`);
    }
  });
}
