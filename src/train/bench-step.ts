// Throughput of full training steps (forward, backward, AdamW) on random tokens, timed after
// warm-up; the figures bench/train-throughput compares with the reference PyTorch code.
/// <reference types="@webgpu/types" />
import { rngFor } from '../engine/random.ts';
import type { ModelConfig } from '../model/config.ts';
import { disposeParams, initParams, type Params, paramSpecs } from '../model/params.ts';
import { EngineTrainStep } from './engine-step.ts';
import { AdamW, optimizerGroups } from './optimizer.ts';
import { GradientWorkers } from './parallel.ts';
import { TrainStep } from './step.ts';

const ADAM = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };

export interface BenchStepOptions {
  model: ModelConfig;
  batchSize: number;
  steps: number;
  warmup: number;
  seed: number;
  /** Extra worker threads (data parallel, wasm); 0 runs on the main thread alone. */
  workers: number;
  /** Time the WebGPU engine on this device instead of tfjs' TrainStep. */
  engine?: GPUDevice;
}

export interface BenchStepResult {
  /** Median step time; on the engine, the time between successive steps' results with the next step already queued, as the training loop runs. */
  ms_per_step: number;
  /** Compute dispatches per step (the engine only). */
  dispatches?: number;
  tokens_per_s: number;
  /** Every timed step, in milliseconds. */
  step_ms: number[];
}

/** Uniformly random tokens and targets, batchSize × blockSize, the same sequence for a seed. */
function randomBatches(o: BenchStepOptions): () => { tokens: Int32Array; targets: Int32Array } {
  const rng = rngFor(o.seed, 'bench-tokens');
  const n = o.batchSize * o.model.blockSize;
  return () => ({ tokens: Int32Array.from({ length: n }, () => rng.int(o.model.vocabSize)), targets: Int32Array.from({ length: n }, () => rng.int(o.model.vocabSize)) });
}

export async function benchStep(o: BenchStepOptions): Promise<BenchStepResult> {
  const { model, batchSize, seed } = o;
  const seqLen = model.blockSize;
  const params = initParams(model, seed);
  if (o.engine) {
    try {
      return await engineSteps(o, o.engine, params);
    } finally {
      disposeParams(params);
    }
  }
  const opt = new AdamW(params, optimizerGroups(params, paramSpecs(model, seed)), ADAM);
  const names = [...opt.groups.decay, ...opt.groups.noDecay];
  const workers = o.workers > 0 ? await GradientWorkers.start(model, names, params, o.workers, batchSize * seqLen) : undefined;
  const step = new TrainStep(params, model, opt, 1.0, workers);
  const batch = randomBatches(o);
  const times: number[] = [];
  try {
    for (let i = 0; i < o.warmup + o.steps; i++) {
      const b = { ...batch(), batchSize, seqLen };
      const t0 = performance.now();
      step.run([b], 1e-4); // the loss is read back, so the step has finished when this returns
      if (i >= o.warmup) times.push(performance.now() - t0);
    }
  } finally {
    await workers?.close();
    opt.dispose();
    disposeParams(params);
  }
  return summary(times, batchSize * seqLen);
}

function summary(times: number[], tokens: number, extra: Partial<BenchStepResult> = {}): BenchStepResult {
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  return { ms_per_step: median, tokens_per_s: tokens / (median / 1000), step_ms: times, ...extra };
}

/** The engine's steps, submitted one ahead as the training loop does; timed from result to result. */
async function engineSteps(o: BenchStepOptions, device: GPUDevice, params: Params): Promise<BenchStepResult> {
  const { model, batchSize } = o;
  const seqLen = model.blockSize;
  const engine = await EngineTrainStep.create(device, model, params, { batch: batchSize, seqLen, accum: 1 }, ADAM, 1.0);
  const random = randomBatches(o);
  const batch = () => {
    const b = random();
    return { ids: b.tokens, targets: b.targets };
  };
  const times: number[] = [];
  try {
    let pending = engine.submit([batch()], 1e-4);
    let last = performance.now();
    for (let i = 1; i <= o.warmup + o.steps; i++) {
      const next = i < o.warmup + o.steps ? engine.submit([batch()], 1e-4) : undefined;
      await pending;
      const now = performance.now();
      if (i > o.warmup) times.push(now - last);
      last = now;
      if (next) pending = next;
    }
    await device.queue.onSubmittedWorkDone();
    return summary(times, batchSize * seqLen, { dispatches: engine.dispatchCount });
  } finally {
    engine.destroy();
  }
}
