// Trains one SAE from a source of activation batches (docs/metrics.md): inputs scaled so E‖x‖² = d,
// b_dec initialised to the first batch's mean, then ⌈tokens / batch⌉ steps.
import type { SaeTrainConfig } from './config.ts';
import { DenseEncoder } from './encoder.ts';
import { initSaeParams, type SaeParams } from './sae-params.ts';
import { SaeTrainer, type StepResult } from './train-step.ts';

/** Batches of raw activations, each exactly [batch, d] row-major; the source loops over epochs. */
export interface BatchSource {
  next(): Promise<Float32Array>;
  /** Releases what the source holds open (files); called once training ends. */
  close?(): Promise<void>;
}

export interface TrainProgress extends StepResult {
  step: number;
  steps: number;
  tokensPerS: number;
}

export interface TrainedSae {
  params: SaeParams;
  tokens: number;
  steps: number;
  seconds: number;
  last: StepResult;
  /** docs/metrics.md: latents with no firing in the last 10M tokens (or the whole run if shorter). */
  deadFraction: number;
  /** Per latent: tokens seen since its last firing, at the end. */
  silentFor: Float64Array;
}

/** The window in which AuxK calls a latent dead: a tenth of a short run (our choice), at most 10M. */
export function auxWindow(cfg: SaeTrainConfig): number {
  return Math.min(cfg.deadTokens, Math.max(cfg.batch, Math.floor(cfg.tokens / 10)));
}

export async function trainSae(cfg: SaeTrainConfig, source: BatchSource, onStep: (p: TrainProgress) => void = () => {}): Promise<TrainedSae> {
  const d = cfg.dIn;
  const rows = cfg.batch;
  const steps = Math.ceil(cfg.tokens / rows);
  const p = initSaeParams(d, cfg.dSae, cfg.act, cfg.seed);
  const first = await source.next();
  checkBatch(first, rows, d);
  p.scale = inputScale(first, rows, d);
  for (let o = 0; o < rows * d; o += d) for (let t = 0; t < d; t++) p.bDec[t] = (p.bDec[t] as number) + (p.scale * (first[o + t] as number)) / rows;
  if (p.thresholds) initThresholds(p, first.map((v) => v * p.scale), rows);
  const trainer = new SaeTrainer(p, cfg, auxWindow(cfg));
  const start = performance.now();
  let last: StepResult | undefined;
  try {
    let batch: Float32Array = first;
    for (let step = 0; step < steps; step++) {
      if (step > 0) {
        batch = await source.next();
        checkBatch(batch, rows, d);
      }
      const x = batch.map((v) => v * p.scale);
      last = trainer.step(x, rows);
      if (!Number.isFinite(last.loss)) throw new Error(`SAE training diverged at step ${step}: loss ${last.loss}`);
      const seconds = (performance.now() - start) / 1000;
      onStep({ ...last, step: step + 1, steps, tokensPerS: ((step + 1) * rows) / Math.max(seconds, 1e-9) });
    }
  } finally {
    trainer.dispose();
    await source.close?.();
  }
  const window = Math.min(cfg.deadTokens, trainer.tokens);
  const silentFor = trainer.lastFired.map((t) => trainer.tokens - t);
  const dead = silentFor.reduce((a, s) => a + (s >= window ? 1 : 0), 0);
  return { params: p, tokens: trainer.tokens, steps, seconds: (performance.now() - start) / 1000, last: last as StepResult, deadFraction: dead / cfg.dSae, silentFor };
}

/**
 * JumpReLU's initial θ_i: the standard deviation of latent i's pre-activation on the first batch
 * (our choice; at least 1e-3), so each latent starts firing on a sixth of the tokens or so
 * whatever the spread of the centred inputs: a fixed θ₀ would leave every latent silent on
 * inputs dominated by their mean, and Adam moves log θ by only about lr per step.
 */
export function initThresholds(p: SaeParams, x: Float32Array, rows: number): void {
  const enc = new DenseEncoder(p);
  const { pre } = enc.pre(x, rows);
  enc.dispose();
  const m = p.dSae;
  const theta = p.thresholds as Float32Array;
  for (let i = 0; i < m; i++) {
    let s = 0;
    let s2 = 0;
    for (let b = 0; b < rows; b++) {
      const v = pre[b * m + i] as number;
      s += v;
      s2 += v * v;
    }
    const mean = s / rows;
    theta[i] = Math.max(Math.sqrt(Math.max(s2 / rows - mean * mean, 0)), 1e-3);
  }
}

/** s with E‖s·x‖² = d, estimated on one batch (docs/metrics.md). */
export function inputScale(x: Float32Array, rows: number, d: number): number {
  let sq = 0;
  for (let i = 0; i < rows * d; i++) sq += (x[i] as number) ** 2;
  return sq > 0 ? Math.sqrt((d * rows) / sq) : 1;
}

function checkBatch(x: Float32Array, rows: number, d: number): void {
  if (x.length !== rows * d) throw new Error(`batch source gave ${x.length} values, expected ${rows} × ${d}`);
}
