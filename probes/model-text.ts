// A trained model as a language model: its checkpoint from a run or a file (no corpus needed),
// the tokenizer that turns its ids into text, and text sampled from it (src/model/sample.ts).
import { existsSync } from 'node:fs';
import { isTokenIdCorpus, storedTokenizer } from '../src/data/corpus.ts';
import { gpt2Tokenizer } from '../src/data/gpt2-tokenizer.ts';
import { GRAMMAR } from '../src/data/synthetic-grammar.ts';
import { byteTokenizer, idsTokenizer, type Tokenizer, wordTokenizer } from '../src/data/tokenizer.ts';
import { rngFor } from '../src/engine/random.ts';
import { ConfigError, shown } from '../src/errors.ts';
import { configFromCheckpoint } from '../src/model/checkpoint.ts';
import type { ModelConfig } from '../src/model/config.ts';
import type { Params } from '../src/model/params.ts';
import { sampleTokens } from '../src/model/sample.ts';
import { readSafetensorsFile, type SafetensorsFile } from '../src/io/safetensors.ts';
import { latestCheckpoint, readRunConfig, runPaths } from '../src/train/run-dir.ts';

export type TokenizerChoice = 'byte' | 'gpt2' | 'ids';

/** --run (its latest checkpoint, or `checkpoint` among them) or --checkpoint alone. */
export interface TextModelSource {
  run?: string;
  checkpoint?: string;
  /** The corpus whose tokenizer names the ids (default: the run's). */
  corpus?: string;
  tokenizer?: TokenizerChoice;
}

export interface OpenedModel {
  run: string | null;
  checkpoint: string;
  file: SafetensorsFile;
  config: ModelConfig;
  /** The corpus spec that names the tokenizer, when known. */
  corpus: string | null;
  /** The run's stored tokenizer option, when a run names one. */
  runTokenizer: 'byte' | 'gpt2' | undefined;
}

/** Reads the checkpoint and its config; the parameters are loaded later, once the backend runs. */
export function openModelFile(src: TextModelSource): OpenedModel {
  let run: string | null = null;
  let checkpoint = src.checkpoint;
  let corpus = src.corpus ?? null;
  let runTokenizer: 'byte' | 'gpt2' | undefined;
  if (src.run !== undefined) {
    const cfg = readRunConfig(src.run);
    run = src.run;
    checkpoint ??= latestCheckpoint(runPaths(src.run));
    if (!checkpoint) throw new ConfigError(`run ${shown(src.run)} has no checkpoint yet`);
    if (src.corpus === undefined) {
      corpus = cfg.corpus;
      runTokenizer = storedTokenizer(cfg.corpus, cfg.tokenizer);
    }
  }
  if (checkpoint === undefined) throw new ConfigError('no model: pass --run DIR (an hcprobe run) or --checkpoint FILE (a .safetensors model)');
  if (!existsSync(checkpoint)) throw new ConfigError(`checkpoint ${shown(checkpoint)} does not exist`);
  const file = readSafetensorsFile(checkpoint);
  return { run, checkpoint, file, config: configFromCheckpoint(file, checkpoint), corpus, runTokenizer };
}

/**
 * The tokenizer of the model's ids: the one named; else the corpus': the synthetic words, the
 * run's stored tokenizer, GPT-2 for a GPT-2-sized vocabulary, bytes for 256; else bare ids.
 */
export function modelTokenizer(m: OpenedModel, choice?: TokenizerChoice): Tokenizer {
  const V = m.config.vocabSize;
  const named = choice ?? m.runTokenizer ?? (m.corpus === 'synthetic' ? undefined : defaultChoice(m.corpus, V));
  const tok = m.corpus === 'synthetic' && choice === undefined ? wordTokenizer(GRAMMAR.words) : named === 'gpt2' ? gpt2Tokenizer() : named === 'byte' ? byteTokenizer() : idsTokenizer(V);
  if (tok.vocabSize > V) throw new ConfigError(`tokenizer ${tok.kind} has ${tok.vocabSize} tokens, more than the model's vocabulary of ${V} (${shown(m.checkpoint)}); pass --tokenizer`);
  return tok;
}

function defaultChoice(corpus: string | null, V: number): TokenizerChoice {
  if (V >= 50257) return 'gpt2';
  if (corpus !== null && !isTokenIdCorpus(corpus)) return V >= 256 ? 'byte' : 'ids'; // a text corpus
  return corpus === null && V === 256 ? 'byte' : 'ids';
}

/** nanoGPT's default start "\n", or the synthetic language's document marker; "0" for bare ids. */
export function defaultPrompt(tok: Tokenizer): string {
  return tok.kind === 'synthetic' ? '<doc>' : tok.kind === 'ids' ? '0' : '\n';
}

export interface SampleTextOptions {
  prompt: string;
  tokens: number;
  temperature: number;
  topK?: number;
  seed: number;
  samples: number;
}

export interface SampledText {
  prompt: number[];
  /** Per sample: the prompt and its continuation, as ids and as text. */
  samples: { ids: number[]; text: string }[];
}

/** `samples` continuations of `prompt`, drawn with rngFor(seed, 'sample'). */
export function sampleText(params: Params, c: ModelConfig, tok: Tokenizer, o: SampleTextOptions): SampledText {
  const prompt = tok.encode(o.prompt);
  if (prompt.length === 0) throw new ConfigError(`--prompt ${shown(o.prompt)} encodes to no tokens (tokenizer ${tok.kind}); give a prompt of at least one token`);
  const bad = prompt.find((id) => id >= c.vocabSize);
  if (bad !== undefined) throw new ConfigError(`--prompt ${shown(o.prompt)} holds token ${bad}, outside the model's vocabulary of ${c.vocabSize}`);
  const rows = sampleTokens(params, c, Array.from({ length: o.samples }, () => prompt), {
    tokens: o.tokens,
    temperature: o.temperature,
    ...(o.topK === undefined ? {} : { topK: o.topK }),
    rng: rngFor(o.seed, 'sample'),
  });
  return { prompt, samples: rows.map((ids) => ({ ids, text: tok.decode(ids) })) };
}
