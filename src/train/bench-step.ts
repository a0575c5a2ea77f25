// Throughput of full training steps (forward, backward, AdamW) on random tokens, timed after
// warm-up; the figures bench/train-throughput compares with the reference PyTorch code.
import { rngFor } from '../engine/random.ts';
import type { ModelConfig } from '../model/config.ts';
import { disposeParams, initParams, paramSpecs } from '../model/params.ts';
import { AdamW, optimizerGroups } from './optimizer.ts';
import { GradientWorkers } from './parallel.ts';
import { TrainStep } from './step.ts';

export interface BenchStepOptions {
  model: ModelConfig;
  batchSize: number;
  steps: number;
  warmup: number;
  seed: number;
  /** Extra worker threads (data parallel, wasm); 0 runs on the main thread alone. */
  workers: number;
}

export interface BenchStepResult {
  ms_per_step: number;
  tokens_per_s: number;
  /** Every timed step, in milliseconds. */
  step_ms: number[];
}

export async function benchStep(o: BenchStepOptions): Promise<BenchStepResult> {
  const { model, batchSize, seed } = o;
  const seqLen = model.blockSize;
  const params = initParams(model, seed);
  const opt = new AdamW(params, optimizerGroups(params, paramSpecs(model, seed)), { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  const names = [...opt.groups.decay, ...opt.groups.noDecay];
  const workers = o.workers > 0 ? await GradientWorkers.start(model, names, params, o.workers, batchSize * seqLen) : undefined;
  const step = new TrainStep(params, model, opt, 1.0, workers);
  const rng = rngFor(seed, 'bench-tokens');
  const batch = () => {
    const tokens = Int32Array.from({ length: batchSize * seqLen }, () => rng.int(model.vocabSize));
    const targets = Int32Array.from({ length: batchSize * seqLen }, () => rng.int(model.vocabSize));
    return { tokens, targets, batchSize, seqLen };
  };
  const times: number[] = [];
  try {
    for (let i = 0; i < o.warmup + o.steps; i++) {
      const b = batch();
      const t0 = performance.now();
      step.run([b], 1e-4); // the loss is read back, so the step has finished when this returns
      if (i >= o.warmup) times.push(performance.now() - t0);
    }
  } finally {
    await workers?.close();
    opt.dispose();
    disposeParams(params);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  return { ms_per_step: median, tokens_per_s: (batchSize * seqLen) / (median / 1000), step_ms: times };
}
