// One entry point for every corpus kind (README, Corpora): `synthetic`, a text or JSONL file, a
// nanoGPT .bin file, or a folder holding train.bin and val.bin.
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { ConfigError, shown } from '../errors.ts';
import type { Corpus } from './split.ts';
import { syntheticCorpus } from './synthetic.ts';
import { textCorpus } from './text.ts';
import { tokensBinCorpus } from './tokens-bin.ts';

export type { Corpus, LabelSpec, Split } from './split.ts';
export type { Tokenizer } from './tokenizer.ts';

export interface CorpusOptions {
  seed: number;
  /** Text corpora: 'byte' (default) or 'gpt2'. A .bin corpus: 'gpt2' names its ids. */
  tokenizer?: 'byte' | 'gpt2';
  /** .bin corpora only: ids must be below it. */
  vocabSize?: number;
  /** Text and single-file .bin corpora: the held-out tail. */
  valFraction?: number;
  /** Synthetic corpus only. */
  trainTokens?: number;
  valTokens?: number;
}

/** The corpus named by `spec`; every user mistake is a ConfigError naming the path or value. */
export function loadCorpus(spec: string, opts: CorpusOptions): Corpus {
  if (spec === 'synthetic') {
    return syntheticCorpus({
      seed: opts.seed,
      ...(opts.trainTokens === undefined ? {} : { trainTokens: opts.trainTokens }),
      ...(opts.valTokens === undefined ? {} : { valTokens: opts.valTokens }),
    });
  }
  if (spec.trim() === '') throw new ConfigError(`corpus must be "synthetic" or a path, got ${shown(spec)}`);
  if (!fs.existsSync(spec)) throw new ConfigError(`corpus ${shown(spec)} does not exist (nor is it "synthetic")`);
  const binOpts = {
    ...(opts.vocabSize === undefined ? {} : { vocabSize: opts.vocabSize }),
    ...(opts.valFraction === undefined ? {} : { valFraction: opts.valFraction }),
  };
  if (opts.tokenizer === 'byte' && isBin(spec)) {
    throw new ConfigError(`corpus ${shown(spec)} holds token ids; tokenizer "byte" applies only to text files`);
  }
  const gpt2 = opts.tokenizer === 'gpt2' ? { tokenizer: 'gpt2' as const } : {};
  if (fs.statSync(spec).isDirectory()) {
    for (const f of ['train.bin', 'val.bin']) {
      if (!fs.existsSync(nodePath.join(spec, f))) {
        throw new ConfigError(`corpus folder ${shown(spec)} has no ${f} (a folder corpus needs train.bin and val.bin)`);
      }
    }
    return tokensBinCorpus(spec, { ...binOpts, ...gpt2 });
  }
  if (spec.toLowerCase().endsWith('.bin')) return tokensBinCorpus(spec, { ...binOpts, ...gpt2 });
  if (opts.vocabSize !== undefined) {
    throw new ConfigError(`vocabSize ${shown(opts.vocabSize)} applies only to .bin corpora, not ${shown(spec)}`);
  }
  return textCorpus(spec, {
    ...(opts.tokenizer === undefined ? {} : { tokenizer: opts.tokenizer }),
    ...(opts.valFraction === undefined ? {} : { valFraction: opts.valFraction }),
  });
}

function isBin(spec: string): boolean {
  return spec.toLowerCase().endsWith('.bin') || fs.statSync(spec).isDirectory();
}

/** True for a corpus of token ids (a .bin file or a folder of them), whose ids the model's vocabulary bounds. */
export function isTokenIdCorpus(spec: string): boolean {
  return spec !== 'synthetic' && fs.existsSync(spec) && isBin(spec);
}

/**
 * A run's stored tokenizer as an option for reopening its corpus: `byte`, the trainer's default,
 * names the tokens of text files, so a corpus of token ids gets no tokenizer option at all.
 */
export function storedTokenizer(spec: string, tokenizer: 'byte' | 'gpt2'): 'byte' | 'gpt2' | undefined {
  return tokenizer === 'byte' && isTokenIdCorpus(spec) ? undefined : tokenizer;
}

/** GPT-2 BPE has 50257 tokens; a model with at least that many was trained on it, a smaller one on bytes. */
export function defaultTokenizer(modelVocab: number): 'byte' | 'gpt2' {
  return modelVocab >= 50257 ? 'gpt2' : 'byte';
}

/**
 * The corpus of a model with `modelVocab` tokens, as every reader of a trained model opens it:
 * token ids are checked against the model's vocabulary (a uint16 file holds at most 65536),
 * text and synthetic corpora must fit into it. Without a tokenizer, a text corpus gets
 * `defaultTokenizer(modelVocab)` and a token-id corpus GPT-2 names only for a GPT-2-sized model.
 */
export function loadCorpusForModel(spec: string, opts: Pick<CorpusOptions, 'seed' | 'tokenizer'>, modelVocab: number): Corpus {
  const ids = isTokenIdCorpus(spec);
  const tokenizer = opts.tokenizer ?? (ids ? (defaultTokenizer(modelVocab) === 'gpt2' ? 'gpt2' : undefined) : defaultTokenizer(modelVocab));
  const corpus = loadCorpus(spec, {
    seed: opts.seed,
    ...(tokenizer === undefined ? {} : { tokenizer }),
    ...(ids ? { vocabSize: Math.min(modelVocab, 65536) } : {}),
  });
  if (corpus.vocabSize > modelVocab) {
    throw new ConfigError(`corpus ${shown(spec)} has a vocabulary of ${corpus.vocabSize} (tokenizer ${corpus.tokenizer.kind}), larger than the model's ${modelVocab}`);
  }
  return corpus;
}
