// Where a wasm training step spends its time, by tfjs kernel: runs TrainStep on the main thread
// alone (no workers) under tf.profile and prints kernel totals (ms per step) and counts.
// usage: node --import tsx bench/train-throughput/kernel-profile.ts [connection=hc] [batch=4] [steps=3]
// KERNELS=BatchMatMul,Transpose also lists those kernels by input and output shapes.
import { initBackend } from '../../src/engine/backend.ts';
import { rngFor } from '../../src/engine/random.ts';
import { tf } from '../../src/engine/tf.ts';
import { MODEL_DEFAULTS, type ModelConfig } from '../../src/model/config.ts';
import { initParams, paramSpecs } from '../../src/model/params.ts';
import { AdamW, optimizerGroups } from '../../src/train/optimizer.ts';
import { TrainStep } from '../../src/train/step.ts';

const [kind = 'hc', batchArg = '4', stepsArg = '3'] = process.argv.slice(2);
await initBackend('wasm');
// the connection as `hcprobe bench-step` builds it: hc dynamic with RMS norm, mhc with 20 Sinkhorn iterations
const connection = kind === 'hc' || kind === 'frac' ? { kind, dynamic: true, dynamicNorm: 'rms' } : kind === 'mhc' ? { kind, sinkhornIters: 20 } : { kind };
const model = { ...MODEL_DEFAULTS, connection } as ModelConfig;
const batchSize = Number(batchArg);
const params = initParams(model, 1);
const opt = new AdamW(params, optimizerGroups(params, paramSpecs(model, 1)), { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
const step = new TrainStep(params, model, opt, 1.0);
const rng = rngFor(1, 'profile');
const batch = () => {
  const n = batchSize * model.blockSize;
  return { tokens: Int32Array.from({ length: n }, () => rng.int(model.vocabSize)), targets: Int32Array.from({ length: n }, () => rng.int(model.vocabSize)), batchSize, seqLen: model.blockSize };
};
for (let i = 0; i < 3; i++) step.run([batch()], 1e-4);
const steps = Number(stepsArg);
const byKernel = new Map<string, { ms: number; n: number }>();
const byShape = new Map<string, { ms: number; n: number }>();
const shapesOf = new Set((process.env.KERNELS ?? '').split(',').filter(Boolean));
let wall = 0;
for (let i = 0; i < steps; i++) {
  const b = batch();
  const t0 = performance.now();
  const info = await tf.profile(() => {
    step.run([b], 1e-4);
  });
  wall += performance.now() - t0;
  for (const k of info.kernels) {
    const keys: [Map<string, { ms: number; n: number }>, string][] = [[byKernel, k.name]];
    if (shapesOf.has(k.name)) keys.push([byShape, `${k.name} ${JSON.stringify(k.inputShapes)} → ${JSON.stringify(k.outputShapes)}`]);
    for (const [map, key] of keys) {
      const e = map.get(key) ?? { ms: 0, n: 0 };
      e.ms += Number(k.kernelTimeMs);
      e.n += 1;
      map.set(key, e);
    }
  }
}
const rows = [...byKernel].sort((a, b) => b[1].ms - a[1].ms);
const total = rows.reduce((a, [, e]) => a + e.ms, 0);
console.log(`${kind}, batch ${batchSize}: wall ${(wall / steps).toFixed(1)} ms/step under profile, kernels ${(total / steps).toFixed(1)} ms, ${rows.reduce((a, [, e]) => a + e.n, 0) / steps} kernel calls`);
for (const [name, e] of rows.slice(0, 30)) console.log(`${name.padEnd(24)} ${(e.ms / steps).toFixed(2).padStart(8)} ms ${String(e.n / steps).padStart(6)} calls`);
for (const [key, e] of [...byShape].sort((a, b) => b[1].ms - a[1].ms)) console.log(`${key.padEnd(64)} ${(e.ms / steps).toFixed(2).padStart(8)} ms ${String(e.n / steps).padStart(6)} calls`);
