// A full training step on the wasm backend (TrainStep.run: gradients, accumulation, clipping,
// AdamW) leaves tf.memory().numTensors and numBytes where they were, for hc and mhc-lite, with
// and without gradient accumulation, and with the main thread's share of a data-parallel step.
// The constants the first forward builds once (src/engine/constants.ts) are not counted.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.ts';
import { constantMemory } from '../../src/engine/constants.ts';
import { rngFor } from '../../src/engine/random.ts';
import { tf } from '../../src/engine/tf.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import { disposeParams, initParams, paramSpecs } from '../../src/model/params.ts';
import { AdamW, optimizerGroups } from '../../src/train/optimizer.ts';
import { GradientWorkers } from '../../src/train/parallel.ts';
import { type MicroBatch, TrainStep } from '../../src/train/step.ts';
import { tinyConfig } from '../model/helpers.ts';

const CONFIGS: { name: string; config: ModelConfig }[] = [
  { name: 'hc', config: tinyConfig({ kind: 'hc', dynamic: true, dynamicNorm: 'rms' }, 3) },
  { name: 'mhc-lite', config: tinyConfig({ kind: 'mhc-lite' }, 3) },
];
/** 4 sequences of the configs' whole block (8 tokens). */
const B = 4;
const T = 8;

function microBatches(seed: number, count: number, vocab: number): MicroBatch[] {
  const rng = rngFor(seed, 'leak-batches');
  return Array.from({ length: count }, () => {
    const seq = Int32Array.from({ length: B * (T + 1) }, () => rng.int(vocab));
    const rows = (off: number) => Int32Array.from({ length: B * T }, (_, i) => seq[Math.floor(i / T) * (T + 1) + (i % T) + off] as number);
    return { tokens: rows(0), targets: rows(1), batchSize: B, seqLen: T };
  });
}

before(async () => {
  await initBackend('wasm');
});

/** One worker thread per config, started on first use (a worker boots its own wasm instance). */
const pools = new Map<string, Promise<GradientWorkers>>();
after(async () => {
  for (const p of pools.values()) await (await p).close();
});

for (const { name, config } of CONFIGS) {
  for (const accum of [1, 2]) {
    for (const workers of [0, 1]) {
      const what = `${name}, ${accum} micro-batch${accum > 1 ? 'es' : ''}, ${workers} worker${workers === 1 ? '' : 's'}`;
      test(`${what}: a training step leaves numTensors and numBytes unchanged`, async () => {
        const params = initParams(config, 5);
        const opt = new AdamW(params, optimizerGroups(params, paramSpecs(config, 5)), { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
        if (workers > 0 && !pools.has(name)) pools.set(name, GradientWorkers.start(config, [...opt.groups.decay, ...opt.groups.noDecay], params, 1, B * T));
        const pw = workers > 0 ? await pools.get(name) : undefined;
        try {
          const step = new TrainStep(params, config, opt, 1.0, pw);
          const unclipped = new TrainStep(params, config, opt, 1e6, pw);
          const wte = params.get('transformer.wte.weight');
          assert.ok(wte);
          const start = (wte.dataSync() as Float32Array).slice();
          const memory = () => {
            const all = tf.memory();
            const kept = constantMemory();
            return { numTensors: all.numTensors - kept.numTensors, numBytes: all.numBytes - kept.numBytes };
          };
          const mem0 = memory();
          for (let s = 0; s < 3; s++) {
            // The first steps clip at 1.0; the last takes the unclipped branch (a bound of 1e6).
            const r = (s < 2 ? step : unclipped).run(microBatches(s, accum, config.vocabSize), 1e-2);
            assert.ok(Number.isFinite(r.loss), `step ${s}: loss ${r.loss}`);
            if (s === 0) assert.ok(r.gradNorm > 1, `step 0 clips: gradient norm ${r.gradNorm}`);
            const mem = memory();
            assert.equal(mem.numTensors, mem0.numTensors, `tensors after step ${s}`);
            assert.equal(mem.numBytes, mem0.numBytes, `bytes after step ${s}`);
          }
          assert.equal(opt.t, 3);
          const now = params.get('transformer.wte.weight')?.dataSync() as Float32Array;
          assert.ok(now.some((v, i) => v !== start[i]), 'the steps moved the weights');
        } finally {
          opt.dispose();
          disposeParams(params);
        }
      });
    }
  }
}
