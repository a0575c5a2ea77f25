// Starting or resuming a training run in a run directory: resolves the config, loads the
// corpus, builds or restores model and optimizer, writes config.json, then runs the loop.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type BackendInfo, initBackend } from '../engine/backend.ts';
import { ConfigError, shown } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { type Corpus, isTokenIdCorpus, loadCorpus, storedTokenizer } from '../data/corpus.ts';
import { paramsFromCheckpoint } from '../model/checkpoint.ts';
import { disposeParams, initParams, initReadStreams, type Params, paramSpecs } from '../model/params.ts';
import { engineDeviceFor, engineBackend, engineRunner } from './engine-runner.ts';
import { type StepRunner, trainLoop, type TrainEvents, type TrainResult, tfjsRunner } from './loop.ts';
import { AdamW, optimizerGroups } from './optimizer.ts';
import { defaultWorkers, GradientWorkers } from './parallel.ts';
import { latestCheckpoint, type LoopState, readTrainCheckpoint, runPaths, truncateMetrics } from './run-dir.ts';
import { type FlatTrainConfig, resolveTrainConfig, type TrainConfig } from './train-config.ts';

export interface SessionOptions {
  out: string;
  /** Layers of flat config: config file, then flags. */
  layers: FlatTrainConfig[];
  force: boolean;
  resume: boolean;
  version: string;
  commandLine: string[];
}

export interface SessionEvents extends TrainEvents {
  onStart?(info: { cfg: TrainConfig; backend: BackendInfo; corpus: Corpus; resumedFrom?: string }): void;
}

const RUN_FILES = ['config.json', 'metrics.jsonl'];

/** With --force, removes what a previous run wrote here, and nothing else. */
function clearRun(root: string): void {
  for (const f of RUN_FILES) rmSync(join(root, f), { force: true });
  const ck = join(root, 'checkpoints');
  if (existsSync(ck)) for (const f of readdirSync(ck)) if (/^step-\d+\.safetensors$/.test(f)) rmSync(join(ck, f));
}

export function corpusFor(cfg: Pick<TrainConfig, 'corpus' | 'seed' | 'tokenizer'>, vocabSize?: number): Corpus {
  const tokenizer = storedTokenizer(cfg.corpus, cfg.tokenizer);
  return loadCorpus(cfg.corpus, { seed: cfg.seed, ...(tokenizer ? { tokenizer } : {}), ...(vocabSize === undefined || !isTokenIdCorpus(cfg.corpus) ? {} : { vocabSize }) });
}

export async function runTraining(o: SessionOptions, events: SessionEvents = {}): Promise<TrainResult> {
  const run = runPaths(o.out);
  let cfg: TrainConfig;
  let corpus: Corpus;
  let makeParams: () => Params;
  let state: LoopState = { step: 0, lossSum: 0, lossCount: 0 };
  let restore: (opt: AdamW) => void = () => {};
  let resumedFrom: string | undefined;
  if (o.resume) {
    const path = latestCheckpoint(run);
    if (!path) throw new ConfigError(`--resume: no checkpoint in ${shown(run.checkpoints)}`);
    const saved = readTrainCheckpoint(path);
    // Only the step count may be extended on resume; everything else is the run's own.
    const steps = o.layers.reduce<number | undefined>((s, l) => (typeof l.steps === 'number' ? l.steps : s), undefined);
    cfg = { ...saved.cfg, ...(steps === undefined ? {} : { steps }) };
    if (cfg.steps < saved.state.step) throw new ConfigError(`--steps ${cfg.steps} is below the checkpoint's step ${saved.state.step}`);
    state = saved.state;
    corpus = corpusFor(cfg, cfg.model.vocabSize);
    makeParams = () => paramsFromCheckpoint(saved.file, cfg.model, path);
    restore = (opt) => opt.load(saved.adamT, saved.file.tensors, path);
    truncateMetrics(run.metrics, state.step);
    resumedFrom = path;
  } else {
    if (existsSync(o.out) && readdirSync(o.out).length > 0) {
      if (!o.force) throw new ConfigError(`run directory ${shown(o.out)} already exists; pass --force to overwrite it or --resume to continue it`);
      clearRun(o.out);
    }
    // The corpus decides the vocabulary unless the config fixes it.
    const probe = resolveTrainConfig(o.layers, 1);
    const fixedVocab = o.layers.some((l) => l.vocabSize !== undefined) ? probe.model.vocabSize : undefined;
    corpus = corpusFor(probe, fixedVocab);
    cfg = resolveTrainConfig(o.layers, corpus.vocabSize);
    const fresh = cfg;
    makeParams = () => initParams(fresh.model, fresh.seed);
  }
  const engine = await engineDeviceFor(cfg.backend, cfg.model);
  const backend = engine ? await engineBackend(engine) : await initBackend(cfg.backend);
  if (engine && cfg.workers > 0) throw new ConfigError(`--workers ${cfg.workers}: worker threads share CPU training; the WebGPU engine trains on the GPU alone (leave --workers out)`);
  if (cfg.workers < 0) cfg = { ...cfg, workers: defaultWorkers(backend.active) };
  const params = makeParams();
  mkdirSync(run.checkpoints, { recursive: true });
  if (!o.resume) {
    writeFileAtomic(run.config, `${JSON.stringify({ ...cfg, init_read_streams: initReadStreams(cfg.model, cfg.seed), hcprobe_version: o.version, corpus_info: corpus.describe(), backend, command: o.commandLine }, null, 2)}\n`, { force: true });
  }
  events.onStart?.({ cfg, backend, corpus, ...(resumedFrom ? { resumedFrom } : {}) });
  const opt = new AdamW(params, optimizerGroups(params, paramSpecs(cfg.model, cfg.seed)), { beta1: cfg.beta1, beta2: cfg.beta2, eps: 1e-8, weightDecay: cfg.weightDecay });
  restore(opt);
  const names = [...opt.groups.decay, ...opt.groups.noDecay];
  const workers = cfg.workers > 0 ? await GradientWorkers.start(cfg.model, names, params, cfg.workers, cfg.batchSize * cfg.model.blockSize) : undefined;
  let runner: StepRunner | undefined;
  try {
    runner = engine ? await engineRunner(engine.device, cfg, corpus, params, opt) : tfjsRunner(cfg, corpus, params, opt, workers);
    return await trainLoop(cfg, corpus, run, params, opt, state, runner, events);
  } finally {
    await runner?.close();
    await workers?.close();
    opt.dispose();
    disposeParams(params);
  }
}
