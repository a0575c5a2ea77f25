// Opens the training run behind a capture for the causal diagnostics: its checkpoint (the one
// captured when it is still there), the model, and its corpus's validation split. A run whose
// model differs from the captured one (model_hash, as capture computes it) is refused.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import type { Manifest } from '../src/capture/schema.ts';
import { type Corpus, loadCorpus } from '../src/data/corpus.ts';
import { ConfigError, shown } from '../src/errors.ts';
import { configFromCheckpoint, paramsFromCheckpoint } from '../src/model/checkpoint.ts';
import type { ModelConfig } from '../src/model/config.ts';
import type { Params } from '../src/model/params.ts';
import { readSafetensorsFile } from '../src/model/safetensors.ts';
import { latestCheckpoint, runPaths } from '../src/train/run-dir.ts';
import type { TrainConfig } from '../src/train/train-config.ts';

export interface RunHandle {
  run: string;
  checkpoint: string;
  config: ModelConfig;
  params: Params;
  corpus: Corpus;
  /** What a reader should know, e.g. that another checkpoint than the captured one was used. */
  notes: string[];
}

export function modelHash(c: ModelConfig): string {
  return createHash('sha256').update(JSON.stringify(c)).digest('hex');
}

function readTrainConfig(run: string): TrainConfig {
  const path = runPaths(run).config;
  if (!existsSync(run)) throw new ConfigError(`run ${shown(run)} does not exist`);
  if (!existsSync(path)) throw new ConfigError(`${run} has no config.json: not an hcprobe run directory`);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as TrainConfig;
  } catch {
    throw new ConfigError(`${path} is not valid JSON`);
  }
}

/** Checks everything first and loads the parameters last (the backend must be started). */
export function openRunForActs(run: string, m: Manifest, acts: string): RunHandle {
  const cfg = readTrainConfig(run);
  const notes: string[] = [];
  const ckptDir = resolve(runPaths(run).checkpoints);
  const captured = m.checkpoint && existsSync(m.checkpoint) && resolve(m.checkpoint).startsWith(ckptDir + sep) ? m.checkpoint : undefined;
  const checkpoint = captured ?? latestCheckpoint(runPaths(run));
  if (!checkpoint) throw new ConfigError(`run ${shown(run)} has no checkpoint`);
  if (!captured) notes.push(`the captured checkpoint ${m.checkpoint} is not in ${run}; the causal part used ${checkpoint}`);
  const file = readSafetensorsFile(checkpoint);
  const config = configFromCheckpoint(file, checkpoint);
  const hash = modelHash(config);
  if (hash !== m.model_hash) {
    throw new ConfigError(
      `run ${shown(run)} does not match the activations in ${shown(acts)}: its model (${config.connection.kind}, ${config.nStreams} streams, ${config.nLayers} layers, d ${config.dModel}; hash ${hash.slice(0, 12)}) ` +
        `is not the captured one (${m.model.connection.kind}, ${m.n_streams} streams, ${m.model.nLayers} layers, d ${m.d_model}; hash ${m.model_hash.slice(0, 12)}, from ${m.checkpoint})`,
    );
  }
  const isBin = cfg.corpus.toLowerCase().endsWith('.bin') || (existsSync(cfg.corpus) && statSync(cfg.corpus).isDirectory());
  const corpus = loadCorpus(cfg.corpus, { seed: cfg.seed, tokenizer: cfg.tokenizer, ...(isBin ? { vocabSize: config.vocabSize } : {}) });
  if (corpus.vocabSize > config.vocabSize) throw new ConfigError(`corpus ${shown(cfg.corpus)} has vocabulary ${corpus.vocabSize}, larger than the model's ${config.vocabSize}`);
  return { run, checkpoint, config, params: paramsFromCheckpoint(file, config, checkpoint), corpus, notes };
}
