// Where the main thread's time goes in a data-parallel wasm step (batch 8, one worker): wraps
// TrainStep's pieces with timers. usage: node --import tsx bench/train-throughput/phases.ts [connection=hc] [steps=8]
import { initBackend } from '../../src/engine/backend.ts';
import { rngFor } from '../../src/engine/random.ts';
import { MODEL_DEFAULTS, type ModelConfig } from '../../src/model/config.ts';
import { initParams, paramSpecs } from '../../src/model/params.ts';
import { AdamW, optimizerGroups } from '../../src/train/optimizer.ts';
import { GradientWorkers } from '../../src/train/parallel.ts';
import { TrainStep } from '../../src/train/step.ts';

const [kind = 'hc', stepsArg = '8'] = process.argv.slice(2);
await initBackend('wasm');
const connection = kind === 'hc' ? { kind, dynamic: true, dynamicNorm: 'rms' } : kind === 'mhc' ? { kind, sinkhornIters: 20 } : { kind };
const model = { ...MODEL_DEFAULTS, connection } as ModelConfig;
const params = initParams(model, 1);
const opt = new AdamW(params, optimizerGroups(params, paramSpecs(model, 1)), { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
const names = [...opt.groups.decay, ...opt.groups.noDecay];
const workers = await GradientWorkers.start(model, names, params, 1, 8 * model.blockSize);
const step = new TrainStep(params, model, opt, 1.0, workers);
const t: Record<string, number> = {};
type Methods = Record<string, (...a: unknown[]) => unknown>;
/** Replaces obj[name] with a timed call that adds its milliseconds to t[label]. */
const wrap = (target: object, name: string, label: string) => {
  const obj = target as Methods;
  const f = (obj[name] as (...a: unknown[]) => unknown).bind(obj);
  obj[name] = (...a: unknown[]) => {
    const t0 = performance.now();
    const r = f(...a);
    t[label] = (t[label] ?? 0) + performance.now() - t0;
    return r;
  };
};
wrap(workers, 'begin', 'begin');
wrap(workers, 'finish', 'finish (wait)');
wrap(opt, 'clipAndStep', 'clip+adamw');
wrap(step, 'localGrads', 'own fwd+bwd');
wrap(step, 'parallelGrads', 'parallelGrads');
const rng = rngFor(1, 'p');
const batch = () => {
  const n = 8 * model.blockSize;
  const draw = () => Int32Array.from({ length: n }, () => rng.int(model.vocabSize));
  return { tokens: draw(), targets: draw(), batchSize: 8, seqLen: model.blockSize };
};
for (let i = 0; i < 3; i++) step.run([batch()], 1e-4);
for (const k of Object.keys(t)) delete t[k];
const steps = Number(stepsArg);
const t0 = performance.now();
for (let i = 0; i < steps; i++) step.run([batch()], 1e-4);
const wall = (performance.now() - t0) / steps;
console.log(`${kind}: ${wall.toFixed(1)} ms/step`);
for (const [k, v] of Object.entries(t)) console.log(`  ${k.padEnd(16)} ${(v / steps).toFixed(1)} ms`);
await workers.close();
