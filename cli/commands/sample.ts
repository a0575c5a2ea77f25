// `hcprobe sample`: text from a checkpoint, as nanoGPT's sample.py: seeded draws at a temperature
// from the top k tokens, the context cropped to the block size; temperature 0 is greedy.
import type { Command } from 'commander';
import { defaultPrompt, modelTokenizer, openModelFile, sampleText, type TextModelSource, type TokenizerChoice } from '../../probes/model-text.ts';
import { BACKENDS, type BackendName, initBackend } from '../../src/engine/backend.ts';
import { paramsFromCheckpoint } from '../../src/model/checkpoint.ts';
import { disposeParams } from '../../src/model/params.ts';
import { parseChoice, parseIntFlag, parseNumberFlag } from '../parse.ts';
import { runCommand } from '../run-command.ts';

type Opts = Record<string, string | boolean | undefined>;

/** nanoGPT sample.py's defaults, but one sample and 200 tokens: a quick look, not a dump. */
export const SAMPLE_DEFAULTS = {
  tokens: 200, // new tokens per sample
  temperature: 0.8, // sample.py: a little sharper than the model's distribution
  topK: 200, // sample.py: drop the long tail
  seed: 1337, // sample.py
  samples: 1,
};

export interface SampleArgs {
  source: TextModelSource;
  /** Undefined: the tokenizer's default start (defaultPrompt). */
  prompt: string | undefined;
  tokens: number;
  temperature: number;
  /** Undefined: every token. */
  topK: number | undefined;
  seed: number;
  samples: number;
  backend: BackendName;
  json: boolean;
}

/** Flags → typed arguments (pure). */
export function parseSampleArgs(o: Opts): SampleArgs {
  const topK = typeof o.topK === 'string' ? o.topK : String(SAMPLE_DEFAULTS.topK);
  return {
    source: {
      ...(typeof o.run === 'string' ? { run: o.run } : {}),
      ...(typeof o.checkpoint === 'string' ? { checkpoint: o.checkpoint } : {}),
      ...(typeof o.corpus === 'string' ? { corpus: o.corpus } : {}),
      ...(typeof o.tokenizer === 'string' ? { tokenizer: parseChoice<TokenizerChoice>('--tokenizer', o.tokenizer, ['byte', 'gpt2', 'ids']) } : {}),
    },
    prompt: typeof o.prompt === 'string' ? o.prompt : undefined,
    tokens: typeof o.tokens === 'string' ? parseIntFlag('--tokens', o.tokens) : SAMPLE_DEFAULTS.tokens,
    temperature: typeof o.temperature === 'string' ? parseNumberFlag('--temperature', o.temperature, 0) : SAMPLE_DEFAULTS.temperature,
    topK: topK === 'all' ? undefined : parseIntFlag('--top-k', topK),
    seed: typeof o.seed === 'string' ? parseIntFlag('--seed', o.seed, 0, 2 ** 32 - 1) : SAMPLE_DEFAULTS.seed,
    samples: typeof o.numSamples === 'string' ? parseIntFlag('--num-samples', o.numSamples) : SAMPLE_DEFAULTS.samples,
    backend: parseChoice('--backend', typeof o.backend === 'string' ? o.backend : 'auto', BACKENDS),
    json: o.json === true,
  };
}

export function registerSample(program: Command, setExit: (code: number) => void): void {
  program
    .command('sample')
    .description('generate text from a checkpoint with its tokenizer (seeded; temperature 0 is greedy)')
    .option('--run <dir>', 'training run (its latest checkpoint, and its corpus names the tokenizer)')
    .option('--checkpoint <file>', 'a .safetensors model; with --run, one of its checkpoints')
    .option('--corpus <spec>', "the corpus whose tokenizer names the ids (default: the run's)")
    .option('--tokenizer <name>', 'byte|gpt2|ids (default: the corpus\', else by the vocabulary: gpt2 for ≥ 50257, byte for 256, else ids)')
    .option('--prompt <text>', 'start of every sample (default "\\n"; "<doc>" for the synthetic language)')
    .option('--tokens <n>', 'new tokens per sample', String(SAMPLE_DEFAULTS.tokens))
    .option('--temperature <t>', '0 = greedy; 1 = the model\'s distribution', String(SAMPLE_DEFAULTS.temperature))
    .option('--top-k <k>', 'keep only the k most likely tokens, or "all"', String(SAMPLE_DEFAULTS.topK))
    .option('--seed <s>', 'seed of the draws: the same seed gives the same text', String(SAMPLE_DEFAULTS.seed))
    .option('--num-samples <m>', 'samples to draw', String(SAMPLE_DEFAULTS.samples))
    .option('--backend <name>', BACKENDS.join('|'), 'auto')
    .option('--json', 'print one JSON object {prompt, samples: [{ids, text}]}')
    .action(async (o: Opts) => {
      setExit(
        await runCommand(async () => {
          const a = parseSampleArgs(o);
          const m = openModelFile(a.source);
          const tok = modelTokenizer(m, a.source.tokenizer);
          await initBackend(a.backend);
          const params = paramsFromCheckpoint(m.file, m.config, m.checkpoint);
          try {
            const r = sampleText(params, m.config, tok, {
              prompt: a.prompt ?? defaultPrompt(tok),
              tokens: a.tokens,
              temperature: a.temperature,
              ...(a.topK === undefined ? {} : { topK: a.topK }),
              seed: a.seed,
              samples: a.samples,
            });
            if (a.json) {
              process.stdout.write(`${JSON.stringify({ checkpoint: m.checkpoint, tokenizer: tok.kind, seed: a.seed, temperature: a.temperature, top_k: a.topK ?? null, ...r })}\n`);
              return;
            }
            process.stderr.write(`sample: ${m.checkpoint} (${m.config.connection.kind}, ${m.config.nStreams} streams), tokenizer ${tok.kind}, seed ${a.seed}\n`);
            process.stdout.write(r.samples.map((s) => `${s.text}\n---------------\n`).join(''));
          } finally {
            disposeParams(params);
          }
        }),
      );
    });
}
