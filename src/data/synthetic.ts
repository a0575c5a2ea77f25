// The embedded default corpus (README, Corpora): a generated language in which every token carries
// known latent labels, so that probes and SAEs are scored against ground truth.
//
// Grammar (vocabulary of 194 single-token words in synthetic-grammar.ts):
//   doc      → <doc> S{4..20}, a copy block may follow each sentence from the 2nd on (p = 0.12)
//   S        → clause ( , and clause )? .                       (p = 0.2 for the second clause)
//   clause   → NP_subj PP? VERB NP_obj? PP?                    (PP p = 0.4 before the verb, 0.3 after)
//   NP       → DET ADJ{0..3} NOUN REL?                          (REL p = 0.3 / 0.2 / 0.12 at depth 0 / 1 / 2)
//   PP       → PREP NP
//   REL      → ( that VERB NP? )                                (a relative clause on the noun before it)
//   copy     → 1–2 consecutive earlier sentences of the document, repeated verbatim
// A document has one topic (animals, food, city, sea); each noun, verb and topic adjective
// comes from that topic's list with p = 0.85, otherwise from a uniformly chosen topic;
// within a list, word r is drawn with weight 1/(r+1). A noun is singular or plural (p = ½);
// determiners are "the" (p = 0.4) or agree with the noun (a/this/every, these/some/many).
// Agreement: the clause's verb takes the number of its subject (the first noun of the
// clause), and a REL's verb that of the noun just before its "(" — across any PP
// ("near the dogs", an attractor of either number) and any nested brackets in between.
//
// Labels (−1 = not applicable), each the state *after* reading the token:
//   topic           the document's topic; −1 on <doc>
//   pos             sep det noun verb adj prep conj punct bracket
//   number          sg/pl of nouns, verbs and number-marked determiners
//   pending_number  number the next verb must take, from its subject noun (or its "(")
//                   up to the token before that verb; −1 when no verb is owed
//   depth           open brackets after the token: "(" counts itself, ")" does not (0..3)
//   parity          position within the document (<doc> = 0) modulo 2
//   copy            1 on every token of a copy block but its first (a token an induction
//                   head can predict from the earlier occurrence), 0 elsewhere
import { ConfigError, shown } from '../errors.ts';
import { rngFor } from '../engine/random.ts';
import type { Corpus, LabelSpec, Split } from './split.ts';
import { GRAMMAR, POS, TOPICS } from './synthetic-grammar.ts';
import { SyntheticWriter } from './synthetic-writer.ts';
import { wordTokenizer } from './tokenizer.ts';

export interface SyntheticOptions {
  seed: number;
  trainTokens?: number;
  valTokens?: number;
}

export const SYNTHETIC_DEFAULTS = {
  trainTokens: 2_000_000, // enough for a 1–4 layer model to learn agreement on a CPU
  valTokens: 100_000, // probes fit on ~10k positions; 100k leaves room for held-out scoring
};

export const SYNTHETIC_LABELS: LabelSpec[] = [
  { name: 'topic', values: [...TOPICS] },
  { name: 'pos', values: [...POS] },
  { name: 'number', values: ['sg', 'pl'] },
  { name: 'pending_number', values: ['sg', 'pl'] },
  { name: 'depth', values: ['0', '1', '2', '3'] },
  { name: 'parity', values: ['even', 'odd'] },
  { name: 'copy', values: ['no', 'yes'] },
];

/**
 * The synthetic corpus: train and val drawn from separate streams of the same seed, each
 * generated when first read. A command that reads only val (capture and diagnose by default)
 * skips the 2M-token train split: ~0.35 s of every such command here. `generate` is for tests.
 */
export function syntheticCorpus(opts: SyntheticOptions, generate: typeof generateSplit = generateSplit): Corpus {
  const trainTokens = count('trainTokens', opts.trainTokens ?? SYNTHETIC_DEFAULTS.trainTokens);
  const valTokens = count('valTokens', opts.valTokens ?? SYNTHETIC_DEFAULTS.valTokens);
  if (!Number.isInteger(opts.seed)) throw new ConfigError(`seed must be an integer, got ${shown(opts.seed)}`);
  let train: Split | undefined;
  let val: Split | undefined;
  return {
    kind: 'synthetic',
    vocabSize: GRAMMAR.words.length,
    labels: SYNTHETIC_LABELS,
    get train() {
      train ??= generate(opts.seed, 'train', trainTokens);
      return train;
    },
    get val() {
      val ??= generate(opts.seed, 'val', valTokens);
      return val;
    },
    tokenizer: wordTokenizer(GRAMMAR.words),
    describe: () => ({
      kind: 'synthetic',
      seed: opts.seed,
      vocabSize: GRAMMAR.words.length,
      trainTokens,
      valTokens,
      tokenizer: 'synthetic',
      labels: SYNTHETIC_LABELS.map((l) => l.name),
    }),
  };
}

/** Whole documents from the named stream until `nTokens`; the last one is cut short. */
export function generateSplit(seed: number, stream: string, nTokens: number): Split {
  const w = new SyntheticWriter(rngFor(seed, `synthetic:${stream}`), nTokens + 4096);
  while (w.length < nTokens) w.document();
  const labels = new Map<string, Int32Array>();
  for (const spec of SYNTHETIC_LABELS) labels.set(spec.name, w.label(spec.name).slice(0, nTokens));
  return {
    tokens: w.tokens.slice(0, nTokens),
    labels,
    docStarts: Int32Array.from(w.docStarts.filter((d) => d < nTokens)),
  };
}

function count(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 2) throw new ConfigError(`${name} must be an integer ≥ 2, got ${shown(v)}`);
  return v;
}
