// Training configuration: defaults ← preset ← JSON config file ← flags, all in one flat key
// space, resolved into a validated TrainConfig. Unknown keys are an error.
import { BACKENDS, type BackendName } from '../engine/backend.ts';
import { ConfigError, shown, shownJson } from '../errors.ts';
import { type Connection, CONNECTION_KINDS, maxStreams, minStreams, type ModelConfig, type StreamInit, STREAM_INIT_KINDS, validateModelConfig } from '../model/config.ts';

export interface TrainConfig {
  model: ModelConfig;
  corpus: string;
  tokenizer: 'byte' | 'gpt2';
  seed: number;
  steps: number;
  batchSize: number;
  gradAccum: number;
  lr: number;
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  gradClip: number;
  evalInterval: number;
  evalBatches: number;
  logInterval: number;
  checkpointInterval: number;
  /** Sequences in the fixed validation batch on which HC diagnostics are measured. */
  diagBatch: number;
  backend: BackendName;
  /** Extra data-parallel worker threads; −1 until resolved (one per extra core on wasm, else 0). */
  workers: number;
}

/** Every key a config file or flag may set, with its type. */
export const TRAIN_KEYS = {
  preset: 'string', connection: 'string', dynamic: 'boolean', hcNorm: 'string', sinkhornIters: 'int',
  streams: 'int', streamInit: 'string', lssCenter: 'number', noiseSigma: 'number', readStream: 'string',
  layers: 'int', heads: 'int', dModel: 'int', seqLen: 'int', bias: 'boolean', vocabSize: 'int',
  corpus: 'string', tokenizer: 'string', seed: 'int', steps: 'int', batchSize: 'int', gradAccum: 'int',
  lr: 'number', minLr: 'number', warmup: 'int', weightDecay: 'number', beta1: 'number', beta2: 'number',
  gradClip: 'number', evalInterval: 'int', evalBatches: 'int', logInterval: 'int', checkpointInterval: 'int',
  diagBatch: 'int', backend: 'string', workers: 'int',
} as const;

export type TrainKey = keyof typeof TRAIN_KEYS;
export type FlatTrainConfig = Partial<Record<TrainKey, string | number | boolean>>;

/** Defaults, each with its reason. */
export const TRAIN_DEFAULTS = {
  connection: 'mhc-lite', // the stream-collapse paper's main setting
  dynamic: true, // the reference HC is dynamic
  hcNorm: 'rms', // the reference code's norm for dynamic HC
  sinkhornIters: 20, // mHC paper
  streams: 4, // the usual n of the HC papers
  streamInit: 'copy', // no symmetry breaking: the baseline that collapses
  lssCenter: 0.6, // the stream-collapse paper's LSS centre
  noiseSigma: 0.2, // about the relative spread of LSS's Xavier noise at d = 128
  readStream: 'random', // the reference: one random stream per module, here drawn from the seed
  bias: false, // the reference's train.py sets bias = False for every run
  corpus: 'synthetic', // embedded, with planted labels for probes and SAEs
  tokenizer: 'byte', // works on any text, vocabulary 256
  seed: 1337, // nanoGPT's
  gradAccum: 1,
  weightDecay: 0.1, // nanoGPT and the reference
  beta1: 0.9,
  beta2: 0.95, // nanoGPT and the reference
  gradClip: 1.0,
  evalBatches: 4, // enough for a stable validation loss at CPU scale
  diagBatch: 4,
  backend: 'auto',
  workers: -1, // auto: decided once the backend is known, then stored with the run
} satisfies FlatTrainConfig;

/** The reference's model sizes (its config/{small,medium,large}_model.py with train_fineweb_edu.py). */
const REFERENCE_RUN = {
  seqLen: 1024, // block_size
  batchSize: 16,
  gradAccum: 8, // 16 × 8 × 1024 = 131,072 tokens per step
  steps: 10000, // max_iters = lr_decay_iters
  warmup: 200,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.95,
  gradClip: 1.0,
  vocabSize: 50304, // GPT-2's 50,257 padded to a multiple of 64, as the reference does without meta.pkl
  tokenizer: 'gpt2',
  bias: false,
  evalInterval: 500,
  evalBatches: 200, // eval_iters
  logInterval: 10,
  checkpointInterval: 500, // the reference saves at every evaluation
} satisfies FlatTrainConfig;

export const PRESETS = {
  /** CPU, under a minute. */
  tiny: { layers: 2, heads: 2, dModel: 64, seqLen: 64, batchSize: 8, steps: 300, lr: 3e-3, warmup: 30, evalInterval: 50, logInterval: 10, checkpointInterval: 100 },
  /** CPU, minutes. */
  small: { layers: 4, heads: 4, dModel: 128, seqLen: 128, batchSize: 8, steps: 600, lr: 2e-3, warmup: 60, evalInterval: 100, logInterval: 20, checkpointInterval: 200 },
  /** The reference's S (small_model.py), for GPUs. */
  s: { ...REFERENCE_RUN, layers: 6, heads: 8, dModel: 512, lr: 1e-3, minLr: 1e-4 },
  /** The reference's M (medium_model.py), for GPUs. */
  m: { ...REFERENCE_RUN, layers: 12, heads: 12, dModel: 768, lr: 6e-4, minLr: 6e-5 },
  /** The reference's L (large_model.py), for GPUs. */
  l: { ...REFERENCE_RUN, layers: 24, heads: 16, dModel: 1024, lr: 3e-4, minLr: 3e-5 },
} satisfies Record<string, FlatTrainConfig>;

export type PresetName = keyof typeof PRESETS;

/** Checks keys and value types of a flat config from a file or flags. */
export function checkFlatConfig(raw: unknown, source: string): FlatTrainConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${source}: expected a JSON object, got ${shownJson(raw)}`);
  const out: FlatTrainConfig = {};
  for (const [key, value] of Object.entries(raw)) {
    const type = (TRAIN_KEYS as Record<string, string>)[key];
    if (!type) throw new ConfigError(`${source}: unknown key ${shown(key)} (known: ${Object.keys(TRAIN_KEYS).join(', ')})`);
    const ok = type === 'string' ? typeof value === 'string' : type === 'boolean' ? typeof value === 'boolean' : typeof value === 'number' && Number.isFinite(value) && (type !== 'int' || Number.isInteger(value));
    if (!ok) throw new ConfigError(`${source}: ${key} must be ${type === 'int' ? 'an integer' : `a ${type}`}, got ${shownJson(value)}`);
    out[key as TrainKey] = value as string | number | boolean;
  }
  return out;
}

/** Layers the sources and validates; `vocabSize` comes from the corpus unless set. */
export function resolveTrainConfig(layers: FlatTrainConfig[], corpusVocab: number): TrainConfig {
  const merged: FlatTrainConfig = { ...TRAIN_DEFAULTS };
  for (const l of layers) {
    if (l.preset !== undefined) {
      const preset = PRESETS[l.preset as PresetName];
      if (!preset) throw new ConfigError(`unknown preset ${shown(l.preset)} (expected ${Object.keys(PRESETS).join(', ')})`);
      Object.assign(merged, preset);
    }
  }
  if (!layers.some((l) => l.preset !== undefined)) Object.assign(merged, PRESETS.tiny);
  for (const l of layers) Object.assign(merged, l);
  const m = merged as Required<FlatTrainConfig>;
  const num = (k: TrainKey) => m[k] as number;
  const str = (k: TrainKey) => m[k] as string;
  const choice = <T extends string>(k: TrainKey, allowed: readonly T[]): T => {
    if (!(allowed as readonly string[]).includes(str(k))) throw new ConfigError(`${k} must be one of ${allowed.join(', ')}, got ${shown(m[k])}`);
    return str(k) as T;
  };
  const kind = choice('connection', CONNECTION_KINDS);
  const connection: Connection =
    kind === 'hc' || kind === 'frac' ? { kind, dynamic: m.dynamic as boolean, dynamicNorm: choice('hcNorm', ['rms', 'layer'] as const) }
    : kind === 'mhc' ? { kind, sinkhornIters: num('sinkhornIters') }
    : { kind };
  const initKind = choice('streamInit', STREAM_INIT_KINDS);
  const streamInit: StreamInit =
    initKind === 'lss' ? { kind: 'lss', center: num('lssCenter') }
    : initKind === 'noise' ? { kind: 'noise', sigma: num('noiseSigma') }
    : { kind: initKind };
  const model = validateModelConfig({
    vocabSize: m.vocabSize === undefined ? corpusVocab : num('vocabSize'),
    blockSize: num('seqLen'),
    nLayers: num('layers'),
    nHeads: num('heads'),
    dModel: num('dModel'),
    bias: m.bias as boolean,
    // Kinds with a fixed stream count (residual, post-norm 1; residual-dual 2) ignore `streams`.
    nStreams: minStreams(kind) === maxStreams(kind) ? maxStreams(kind) : num('streams'),
    connection,
    streamInit,
    readStream: choice('readStream', ['modulo', 'random'] as const),
  });
  if (model.vocabSize < corpusVocab) throw new ConfigError(`vocabSize ${model.vocabSize} is smaller than the corpus vocabulary ${corpusVocab}`);
  const positive = (k: TrainKey) => {
    if (!(num(k) > 0)) throw new ConfigError(`${k} must be positive, got ${shown(m[k])}`);
    return num(k);
  };
  const lr = positive('lr');
  const cfg: TrainConfig = {
    model,
    corpus: str('corpus'),
    tokenizer: choice('tokenizer', ['byte', 'gpt2'] as const),
    seed: num('seed'),
    steps: positive('steps'),
    batchSize: positive('batchSize'),
    gradAccum: positive('gradAccum'),
    lr,
    minLr: m.minLr === undefined ? lr / 10 : num('minLr'),
    warmupSteps: num('warmup'),
    weightDecay: num('weightDecay'),
    beta1: num('beta1'),
    beta2: num('beta2'),
    gradClip: num('gradClip'),
    evalInterval: positive('evalInterval'),
    evalBatches: positive('evalBatches'),
    logInterval: positive('logInterval'),
    checkpointInterval: positive('checkpointInterval'),
    diagBatch: positive('diagBatch'),
    backend: choice('backend', BACKENDS),
    workers: num('workers'),
  };
  if (cfg.workers < -1) throw new ConfigError(`workers must be ≥ 0 (or −1 for automatic), got ${cfg.workers}`);
  if (cfg.minLr > cfg.lr) throw new ConfigError(`minLr (${cfg.minLr}) must not exceed lr (${cfg.lr})`);
  if (cfg.warmupSteps < 0) throw new ConfigError(`warmup must be ≥ 0, got ${cfg.warmupSteps}`);
  for (const k of ['beta1', 'beta2'] as const) if (!(cfg[k] >= 0 && cfg[k] < 1)) throw new ConfigError(`${k} must be in [0, 1), got ${cfg[k]}`);
  return cfg;
}
