// The training loop: AdamW with warmup-cosine schedule, gradient accumulation and clipping,
// periodic validation, HC diagnostics at every log step, atomic checkpoints and exact resume.
import { tf } from '../engine/tf.ts';
import { sampleBatch } from '../data/batches.ts';
import type { Corpus } from '../data/corpus.ts';
import type { Params } from '../model/params.ts';
import { lossFn } from '../model/transformer.ts';
import { type HcDiagnostics, hcDiagnostics } from './hc-diagnostics.ts';
import { type LssScales, lssScales } from './lss-scales.ts';
import type { AdamW } from './optimizer.ts';
import { appendMetrics, type LoopState, type RunPaths, writeTrainCheckpoint } from './run-dir.ts';
import type { GradientWorkers } from './parallel.ts';
import { type MicroBatch, type StepResult, TrainStep } from './step.ts';
import { learningRate } from './schedule.ts';
import type { TrainConfig } from './train-config.ts';

/** A run that cannot go on (non-finite loss); the last good checkpoint is kept. */
export class RunFailure extends Error {
  override readonly name = 'RunFailure';
}

export interface StepProgress {
  step: number;
  steps: number;
  loss: number;
  lr: number;
  tokensPerS: number;
}

export interface TrainEvents {
  onStep?(p: StepProgress): void;
  onCheckpoint?(path: string): void;
}

export interface TrainResult {
  finalLoss: number;
  finalValLoss: number;
}

/** Validation batch i of evalBatches: the same at every evaluation, whatever runs it. */
export function validationBatch(cfg: TrainConfig, corpus: Corpus, i: number): { tokens: Int32Array; targets: Int32Array } {
  return sampleBatch(corpus.val, { batchSize: cfg.batchSize, seqLen: cfg.model.blockSize, seed: cfg.seed + 1, step: i });
}

/** Mean validation loss over a fixed set of batches, the same at every evaluation. */
export function validationLoss(params: Params, cfg: TrainConfig, corpus: Corpus): number {
  const shape: [number, number] = [cfg.batchSize, cfg.model.blockSize];
  let sum = 0;
  for (let i = 0; i < cfg.evalBatches; i++) {
    const b = validationBatch(cfg, corpus, i);
    sum += tf.tidy(() => lossFn(params, cfg.model, tf.tensor2d(b.tokens, shape, 'int32'), tf.tensor2d(b.targets, shape, 'int32')).dataSync()[0] as number);
  }
  return sum / cfg.evalBatches;
}

/** `lss` of a metrics record: present only when the run's streams are expanded by LSS. */
function lssRecord(params: Params, cfg: TrainConfig): { lss?: LssScales } {
  const lss = lssScales(params, cfg.model);
  return lss ? { lss } : {};
}

/** The first parameter holding a NaN or an infinity, if any. */
function firstNonFinite(params: Params): string | undefined {
  for (const [name, v] of params) if (!(v.dataSync() as Float32Array).every(Number.isFinite)) return name;
  return undefined;
}

/**
 * What executes the updates for the loop: tfjs' TrainStep on this thread (and workers), or the
 * WebGPU engine (engine-runner.ts). A runner may run ahead: `submit` returns before the step has
 * run, and the loop keeps at most `depth` steps in flight, never past one whose results it must read
 * the parameters after (a log, evaluation or checkpoint step).
 */
export interface StepRunner {
  /** Steps it may have in flight: 1 runs each step to the end inside submit. */
  readonly depth: number;
  submit(micro: MicroBatch[], lr: number): Promise<StepResult>;
  /**
   * Makes tfjs' copies current before the loop reads them: 'all' the parameters and AdamW's
   * moments (checkpoints), or just the named parameters (log steps: the LSS record).
   */
  sync(what: 'all' | readonly string[]): Promise<void>;
  validationLoss(): Promise<number>;
  /** The HC diagnostics (docs/metrics.md) on the run's fixed diagnostic batch. */
  diagnostics(): Promise<HcDiagnostics>;
  close(): Promise<void>;
}

/** The fixed diagnostic batch: diagBatch validation sequences. */
export function diagnosticIds(cfg: TrainConfig, corpus: Corpus): Int32Array {
  return sampleBatch(corpus.val, { batchSize: cfg.diagBatch, seqLen: cfg.model.blockSize, seed: cfg.seed + 2, step: 0 }).tokens;
}

/** TrainStep on tfjs: each update runs inside submit. */
export function tfjsRunner(cfg: TrainConfig, corpus: Corpus, params: Params, opt: AdamW, workers?: GradientWorkers): StepRunner {
  const step = new TrainStep(params, cfg.model, opt, cfg.gradClip, workers);
  const diagTokens = tf.tensor2d(diagnosticIds(cfg, corpus), [cfg.diagBatch, cfg.model.blockSize], 'int32');
  return {
    depth: 1,
    submit: async (micro, lr) => step.run(micro, lr),
    sync: async () => {},
    validationLoss: async () => validationLoss(params, cfg, corpus),
    diagnostics: async () => hcDiagnostics(params, cfg.model, diagTokens),
    close: async () => diagTokens.dispose(),
  };
}

/** The micro-batches of update `it` (gradient accumulation: gradAccum of them). */
export function updateBatches(cfg: TrainConfig, corpus: Corpus, it: number): MicroBatch[] {
  const seqLen = cfg.model.blockSize;
  return Array.from({ length: cfg.gradAccum }, (_, k) => ({
    ...sampleBatch(corpus.train, { batchSize: cfg.batchSize, seqLen, seed: cfg.seed, step: it * cfg.gradAccum + k }),
    batchSize: cfg.batchSize,
    seqLen,
  }));
}

export async function trainLoop(cfg: TrainConfig, corpus: Corpus, run: RunPaths, params: Params, opt: AdamW, state: LoopState, runner: StepRunner, events: TrainEvents = {}): Promise<TrainResult> {
  const schedule = { lr: cfg.lr, minLr: cfg.minLr, warmupSteps: cfg.warmupSteps, decaySteps: cfg.steps };
  const tokensPerStep = cfg.batchSize * cfg.gradAccum * cfg.model.blockSize;
  /** After this many updates the loop reads the parameters (log, evaluation, checkpoint). */
  const reads = (n: number) => n % cfg.evalInterval === 0 || n % cfg.logInterval === 0 || n % cfg.checkpointInterval === 0 || n === cfg.steps;
  let intervalStart = performance.now();
  let intervalSteps = 0;
  let lastLoss = Number.NaN;
  let lastVal = Number.NaN;
  const inFlight: { it: number; lr: number; result: Promise<StepResult> }[] = [];
  let next = state.step;
  try {
    while (state.step < cfg.steps) {
      const held = inFlight.length >= runner.depth || next >= cfg.steps || inFlight.some((s) => reads(s.it + 1));
      if (!held) {
        const lr = learningRate(schedule, next);
        inFlight.push({ it: next, lr, result: runner.submit(updateBatches(cfg, corpus, next), lr) });
        next++;
        continue;
      }
      const { it, lr, result } = inFlight.shift() as (typeof inFlight)[number];
      const { loss, gradNorm } = await result;
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
        const what = Number.isFinite(loss) ? `gradient norm became ${gradNorm}` : `training loss became ${loss}`;
        throw new RunFailure(`${what} at step ${it + 1}; stopped. The last good checkpoint is kept in ${run.checkpoints} (try a lower lr).`);
      }
      state.step++;
      state.lossSum += loss;
      state.lossCount++;
      intervalSteps++;
      lastLoss = loss;
      const tokensPerS = (intervalSteps * tokensPerStep) / ((performance.now() - intervalStart) / 1000);
      events.onStep?.({ step: state.step, steps: cfg.steps, loss, lr, tokensPerS });
      if (!reads(state.step)) continue;
      const done = state.step === cfg.steps;
      const checkpoint = state.step % cfg.checkpointInterval === 0 || done;
      await runner.sync(checkpoint ? 'all' : cfg.model.streamInit.kind === 'lss' ? ['expand_stream.lss'] : []);
      const record: Record<string, unknown> = {};
      if (state.step % cfg.evalInterval === 0 || done) {
        lastVal = await runner.validationLoss();
        record.val_loss = lastVal;
      }
      if (state.step % cfg.logInterval === 0 || done) {
        appendMetrics(run.metrics, {
          step: state.step,
          loss: state.lossSum / state.lossCount,
          ...record,
          lr,
          grad_norm: gradNorm,
          tokens_per_s: tokensPerS,
          hc: await runner.diagnostics(),
          ...lssRecord(params, cfg),
        });
        state.lossSum = 0;
        state.lossCount = 0;
        intervalStart = performance.now();
        intervalSteps = 0;
      }
      if (checkpoint) {
        // An update can overflow the weights while its loss was finite: never save those.
        const bad = firstNonFinite(params);
        if (bad) throw new RunFailure(`parameter ${bad} became non-finite at step ${state.step}; stopped. The last good checkpoint is kept in ${run.checkpoints} (try a lower lr).`);
        const path = writeTrainCheckpoint(run, cfg, params, opt, state);
        events.onCheckpoint?.(path);
      }
    }
  } finally {
    // a step still running when the loop stopped (a failure) is awaited so that nothing outlives it
    await Promise.allSettled(inFlight.map((s) => s.result));
  }
  return { finalLoss: lastLoss, finalValLoss: lastVal };
}
