// Opens "a model source" for the commands that run a trained model: a training run (its latest
// checkpoint, or the one named, and the corpus its config names) or a checkpoint file with a
// corpus spec, e.g. one converted from the reference code. For a capture, the model must be the
// captured one (model_hash: isModelHash).
import { existsSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { isModelHash, type Manifest, modelHash } from '../src/capture/schema.ts';
import { type Corpus, loadCorpusForModel, storedTokenizer } from '../src/data/corpus.ts';
import { ConfigError, shown } from '../src/errors.ts';
import { configFromCheckpoint, paramsFromCheckpoint } from '../src/model/checkpoint.ts';
import type { ModelConfig } from '../src/model/config.ts';
import type { Params } from '../src/model/params.ts';
import { readSafetensorsFile, type SafetensorsFile } from '../src/io/safetensors.ts';
import { latestCheckpoint, readRunConfig, runPaths } from '../src/train/run-dir.ts';
import { TRAIN_DEFAULTS } from '../src/train/train-config.ts';

export type TokenizerName = 'byte' | 'gpt2';

/** Where a model and its corpus come from; without `run`, `checkpoint` and `corpus` are needed. */
export interface ModelSource {
  run?: string;
  /** With a run: one of its checkpoints instead of the latest. */
  checkpoint?: string;
  /** Default: the run's corpus. */
  corpus?: string;
  /** Text corpora. Default: the run's, else by the model's vocabulary (defaultTokenizer). */
  tokenizer?: TokenizerName;
  /** The synthetic corpus. Default: the run's, else the trainer's default. */
  seed?: number;
}

/** A source whose checkpoint is read and checked; the corpus is opened by openSourceCorpus. */
export interface ResolvedSource {
  run: string | null;
  checkpoint: string;
  file: SafetensorsFile;
  config: ModelConfig;
  corpusSpec: string;
  tokenizer: TokenizerName | undefined;
  seed: number;
}

export interface RunHandle {
  run: string | null;
  checkpoint: string;
  config: ModelConfig;
  params: Params;
  corpus: Corpus;
  /** What a reader should know, e.g. that another checkpoint than the captured one was used. */
  notes: string[];
}

/** The synthetic corpus' seed when nothing names one: the trainer's default. */
export const DEFAULT_CORPUS_SEED = TRAIN_DEFAULTS.seed;

function readCheckpoint(path: string): { file: SafetensorsFile; config: ModelConfig } {
  if (!existsSync(path)) throw new ConfigError(`checkpoint ${shown(path)} does not exist`);
  const file = readSafetensorsFile(path);
  return { file, config: configFromCheckpoint(file, path) };
}

/** Reads the source's checkpoint and settles its corpus, tokenizer and seed; loads no corpus. */
export function resolveModelSource(src: ModelSource): ResolvedSource {
  if (src.run !== undefined) {
    const cfg = readRunConfig(src.run);
    const checkpoint = src.checkpoint ?? latestCheckpoint(runPaths(src.run));
    if (!checkpoint) throw new ConfigError(`run ${shown(src.run)} has no checkpoint yet`);
    const corpusSpec = src.corpus ?? cfg.corpus;
    const runTokenizer = src.corpus === undefined ? storedTokenizer(corpusSpec, cfg.tokenizer) : undefined;
    const tokenizer = src.tokenizer ?? runTokenizer;
    return { run: src.run, checkpoint, ...readCheckpoint(checkpoint), corpusSpec, tokenizer, seed: src.seed ?? cfg.seed };
  }
  if (src.checkpoint === undefined) throw new ConfigError('no model: pass --run DIR (an hcprobe run) or --checkpoint FILE (a .safetensors model)');
  if (src.corpus === undefined) {
    throw new ConfigError(`--checkpoint ${shown(src.checkpoint)} without --run needs --corpus SPEC: the corpus the model was trained on (synthetic, a text or JSONL file, or .bin token ids)`);
  }
  return { run: null, checkpoint: src.checkpoint, ...readCheckpoint(src.checkpoint), corpusSpec: src.corpus, tokenizer: src.tokenizer, seed: src.seed ?? DEFAULT_CORPUS_SEED };
}

/** The source's corpus, checked against the model's vocabulary. */
export function openSourceCorpus(s: ResolvedSource): Corpus {
  return loadCorpusForModel(s.corpusSpec, { seed: s.seed, ...(s.tokenizer === undefined ? {} : { tokenizer: s.tokenizer }) }, s.config.vocabSize);
}

/** The tokenizer option that reopens `corpus` as it was opened (null: none applies). */
export function tokenizerOf(corpus: Corpus): TokenizerName | null {
  const k = corpus.tokenizer.kind;
  return k === 'byte' || k === 'gpt2' ? k : null;
}

/**
 * The source of a capture's model when the flags name no run: the capture's run when it is
 * still there; for a capture made from a checkpoint alone (run null), that checkpoint with the
 * corpus it recorded. Older manifests lack corpus_spec/tokenizer/seed: they are read from the
 * corpus description instead.
 */
export function captureSource(m: Manifest, flags: ModelSource): ModelSource | { skip: string } {
  if (flags.run !== undefined) return flags;
  if (flags.checkpoint === undefined && m.run) {
    return existsSync(m.run) ? { ...flags, run: m.run } : { skip: `the capture's run ${m.run} does not exist here; pass --run or --checkpoint` };
  }
  const checkpoint = flags.checkpoint ?? (existsSync(m.checkpoint) ? m.checkpoint : undefined);
  if (checkpoint === undefined) return { skip: `the capture's checkpoint ${m.checkpoint} does not exist here; pass --checkpoint` };
  const described = m.corpus as { kind?: unknown; path?: unknown; tokenizer?: unknown; seed?: unknown };
  const corpus = flags.corpus ?? m.corpus_spec ?? (described.kind === 'synthetic' ? 'synthetic' : typeof described.path === 'string' ? described.path : undefined);
  const recorded = m.tokenizer ?? (described.tokenizer === 'byte' || described.tokenizer === 'gpt2' ? described.tokenizer : null);
  const tokenizer = flags.tokenizer ?? (flags.corpus === undefined && recorded ? recorded : undefined);
  const seed = flags.seed ?? m.seed ?? (typeof described.seed === 'number' ? described.seed : undefined);
  return { checkpoint, ...(corpus === undefined ? {} : { corpus }), ...(tokenizer === undefined ? {} : { tokenizer }), ...(seed === undefined ? {} : { seed }) };
}

/** Checks everything first and loads the parameters last (the backend must be started). */
export function openModelForActs(src: ModelSource, m: Manifest, acts: string): RunHandle {
  let source = src;
  const notes: string[] = [];
  if (src.run !== undefined && src.checkpoint === undefined) {
    // The captured checkpoint when it is one of this run's, else the run's latest.
    const ckptDir = resolve(runPaths(src.run).checkpoints);
    const captured = m.checkpoint && existsSync(m.checkpoint) && resolve(m.checkpoint).startsWith(ckptDir + sep) ? m.checkpoint : undefined;
    const checkpoint = captured ?? latestCheckpoint(runPaths(src.run));
    if (checkpoint) source = { ...src, checkpoint };
    if (checkpoint && !captured) notes.push(`the captured checkpoint ${m.checkpoint} is not in ${src.run}; the causal part used ${checkpoint}`);
  }
  const s = resolveModelSource(source);
  if (!isModelHash(s.config, m.model_hash)) {
    const hash = modelHash(s.config);
    const what = s.run === null ? `checkpoint ${shown(s.checkpoint)}` : `run ${shown(s.run)} (checkpoint ${s.checkpoint})`;
    throw new ConfigError(
      `${what} does not match the activations in ${shown(acts)}: its model (${describeModel(s.config)}; hash ${hash.slice(0, 12)}) ` +
        `is not the captured one (${describeModel(m.model)}; hash ${m.model_hash.slice(0, 12)}, from ${m.checkpoint})`,
    );
  }
  const corpus = openSourceCorpus(s);
  return { run: s.run, checkpoint: s.checkpoint, config: s.config, params: paramsFromCheckpoint(s.file, s.config, s.checkpoint), corpus, notes };
}

function describeModel(c: ModelConfig): string {
  return `${c.connection.kind}, ${c.nStreams} streams, ${c.nLayers} layers, d ${c.dModel}, vocabulary ${c.vocabSize}`;
}
