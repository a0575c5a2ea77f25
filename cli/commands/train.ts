// `hcprobe train`: trains an HC language model into runs/<name> (config.json, metrics.jsonl
// with HC diagnostics, checkpoints), or continues one with --resume.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { BACKENDS } from '../../src/engine/backend.ts';
import { ConfigError, shown } from '../../src/errors.ts';
import { CONNECTION_KINDS, maxStreams, STREAM_INIT_KINDS } from '../../src/model/config.ts';
import { RunFailure } from '../../src/train/loop.ts';
import { runTraining } from '../../src/train/session.ts';
import { checkFlatConfig, type FlatTrainConfig, PRESETS } from '../../src/train/train-config.ts';
import { parseChoice, parseIntFlag, parseNumberFlag } from '../parse.ts';
import { progressLine } from '../progress.ts';
import { EXIT_RUN_FAILED, runCommand } from '../run-command.ts';

type Opts = Record<string, string | boolean | undefined>;

/** The most streams any connection kind allows; each kind's own bound is checked with the config. */
const MOST_STREAMS = Math.max(...CONNECTION_KINDS.map(maxStreams));

/** Flags → one flat config layer (pure). */
export function parseTrainFlags(o: Opts): FlatTrainConfig {
  const f: FlatTrainConfig = {};
  const s = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  if (s('preset') !== undefined) f.preset = parseChoice('--preset', s('preset') as string, Object.keys(PRESETS));
  if (s('connection') !== undefined) f.connection = parseChoice('--connection', s('connection') as string, CONNECTION_KINDS);
  if (o.dynamic === true) f.dynamic = true;
  if (o.static === true) f.dynamic = false;
  if (s('streams') !== undefined) f.streams = parseIntFlag('--streams', s('streams') as string, 1, MOST_STREAMS);
  if (s('streamInit') !== undefined) f.streamInit = parseChoice('--stream-init', s('streamInit') as string, STREAM_INIT_KINDS);
  if (s('corpus') !== undefined) f.corpus = s('corpus') as string;
  if (s('tokenizer') !== undefined) f.tokenizer = parseChoice('--tokenizer', s('tokenizer') as string, ['byte', 'gpt2']);
  if (s('steps') !== undefined) f.steps = parseIntFlag('--steps', s('steps') as string);
  if (s('seed') !== undefined) f.seed = parseIntFlag('--seed', s('seed') as string, 0);
  if (s('lr') !== undefined) f.lr = parseNumberFlag('--lr', s('lr') as string, 0);
  if (s('batchSize') !== undefined) f.batchSize = parseIntFlag('--batch-size', s('batchSize') as string);
  if (s('gradAccum') !== undefined) f.gradAccum = parseIntFlag('--grad-accum', s('gradAccum') as string);
  if (s('backend') !== undefined) f.backend = parseChoice('--backend', s('backend') as string, BACKENDS);
  if (s('workers') !== undefined) f.workers = parseIntFlag('--workers', s('workers') as string, 0);
  if (s('checkpointInterval') !== undefined) f.checkpointInterval = parseIntFlag('--checkpoint-interval', s('checkpointInterval') as string);
  return f;
}

export function readConfigFile(path: string): FlatTrainConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new ConfigError(`--config: cannot read ${shown(path)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`--config ${path}: not valid JSON (${(e as Error).message})`);
  }
  return checkFlatConfig(raw, path);
}

export function registerTrain(program: Command, setExit: (code: number) => void, version: string): void {
  program
    .command('train')
    .description('train a hyper-connection language model; writes config.json, metrics.jsonl and checkpoints')
    .requiredOption('--out <dir>', 'run directory, e.g. runs/NAME')
    .option('--config <file>', 'JSON config (flat keys: see README); flags override it')
    .option('--preset <name>', `${Object.keys(PRESETS).join('|')} (default tiny)`)
    .option('--connection <kind>', `${CONNECTION_KINDS.join('|')} (default mhc-lite)`)
    .option('--dynamic', 'dynamic HC coefficients (hc, frac; the default)')
    .option('--static', 'static HC coefficients (hc, frac)')
    .option('--streams <n>', 'number of streams: HC n, AltUp K, Frac m (d divisible by m); fixed for residual, post-norm (1), residual-dual (2) (default 4)')
    .option('--stream-init <init>', `${STREAM_INIT_KINDS.join('|')} (default copy)`)
    .option('--corpus <spec>', 'synthetic, a .txt/.jsonl file, a nanoGPT .bin file or folder (default synthetic)')
    .option('--tokenizer <kind>', 'byte|gpt2, for text corpora (default byte)')
    .option('--steps <n>', 'optimizer steps (with --resume: extend the run)')
    .option('--seed <s>', 'seed for init and data order (default 1337)')
    .option('--lr <x>', 'peak learning rate')
    .option('--batch-size <b>', 'sequences per micro-batch')
    .option('--grad-accum <k>', 'micro-batches per step')
    .option('--backend <name>', `${BACKENDS.join('|')} (default auto)`)
    .option('--workers <n>', 'extra data-parallel worker threads on wasm (default: one per extra core)')
    .option('--checkpoint-interval <n>', 'steps between checkpoints, all kept (tiny preset: 100); the last step is always saved')
    .option('--resume', 'continue the run in --out from its latest checkpoint')
    .option('--force', 'overwrite an existing run directory')
    .action(async (o: Opts) => {
      setExit(
        await runCommand(async () => {
          const layers = [...(typeof o.config === 'string' ? [readConfigFile(o.config)] : []), parseTrainFlags(o)];
          const bar = progressLine('train');
          try {
            const result = await runTraining(
              { out: o.out as string, layers, force: o.force === true, resume: o.resume === true, version, commandLine: process.argv.slice(2) },
              {
                onStart: ({ cfg, backend, corpus, resumedFrom }) => {
                  const m = cfg.model;
                  process.stderr.write(`${resumedFrom ? `resuming from ${resumedFrom}\n` : ''}model: ${m.connection.kind}, ${m.nStreams} stream(s), ${m.streamInit.kind} init, ${m.nLayers} layers, d ${m.dModel}, ${m.nHeads} heads, vocab ${m.vocabSize}\n`);
                  process.stderr.write(`corpus: ${cfg.corpus} (${corpus.train.tokens.length} train / ${corpus.val.tokens.length} val tokens); backend: ${backend.active} (${backend.device})${cfg.workers > 0 ? ` + ${cfg.workers} worker thread(s)` : ''}\n`);
                },
                onStep: (p) => bar.update(p.step, p.steps, `loss ${p.loss.toFixed(4)} | ${Math.round(p.tokensPerS)} tok/s`),
              },
            );
            bar.finish(`done: final train loss ${result.finalLoss.toFixed(4)}, validation loss ${result.finalValLoss.toFixed(4)}; run in ${o.out}`);
          } catch (e) {
            bar.finish();
            throw e;
          }
        }, { [RunFailure.name]: EXIT_RUN_FAILED }),
      );
    });
}
