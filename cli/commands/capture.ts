// `hcprobe capture` writes per-stream activations and HC coefficients of a trained model (a run,
// or a checkpoint with its corpus) to Arrow shards; `hcprobe inspect` summarises a capture.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { BACKENDS, initBackend } from '../../src/engine/backend.ts';
import { engineCaptureForward, engineDeviceFor } from '../../src/train/engine-runner.ts';
import { ConfigError, shown } from '../../src/errors.ts';
import { capture } from '../../src/capture/capture.ts';
import { prestartWriterThread } from '../../src/capture/writer-thread.ts';
import { availableSites } from '../../src/capture/kind-sites.ts';
import { readManifest } from '../../src/capture/read.ts';
import { CAPTURE_SITES, type CaptureSite } from '../../src/capture/schema.ts';
import { paramsFromCheckpoint, readStreamsOf } from '../../src/model/checkpoint.ts';
import { disposeParams } from '../../src/model/params.ts';
import { DEFAULT_CORPUS_SEED, openSourceCorpus, resolveModelSource, tokenizerOf } from '../../probes/load-run.ts';
import { distinct, parseChoice, parseIntFlag, parseIntList, parseSiteList } from '../parse.ts';
import { progressLine } from '../progress.ts';
import { overCheckpoints } from '../over-checkpoints.ts';
import { runCommand } from '../run-command.ts';

type Opts = Record<string, string | boolean | undefined>;

/** The streams after every module and the weights that mix them: what diagnose reads. */
export const DEFAULT_CAPTURE_SITES = 'resid_post,coeffs';

/**
 * --sites (or its alias --hooks) and --layers → the capture's grid of sites × layers (pure). A
 * hook name adds its site and its layer; --layers adds layers too; with no layer named, all.
 * Both modules are always written, so a hook name's module selects nothing.
 */
export function parseCaptureSelection(o: Opts, nLayers: number): { sites: CaptureSite[]; layers: number[] } {
  if (typeof o.sites === 'string' && typeof o.hooks === 'string') {
    throw new ConfigError(`--hooks is another name for --sites: give one of them, got --sites ${shown(o.sites)} and --hooks ${shown(o.hooks)}`);
  }
  const flag = typeof o.hooks === 'string' ? '--hooks' : '--sites';
  const refs = parseSiteList(flag, typeof o.hooks === 'string' ? o.hooks : typeof o.sites === 'string' ? o.sites : DEFAULT_CAPTURE_SITES, CAPTURE_SITES);
  const range = `the model has ${nLayers} layers: 0 to ${nLayers - 1}`;
  const given = typeof o.layers === 'string' ? parseIntList('--layers', o.layers) : [];
  const bad = given.find((l) => l >= nLayers);
  if (bad !== undefined) throw new ConfigError(`--layers: layer ${bad} is out of range (${range})`);
  const named = refs.find((r) => r.layer !== undefined && r.layer >= nLayers);
  if (named) throw new ConfigError(`${flag}: ${shown(named.value)} names layer ${named.layer}, which is out of range (${range})`);
  const layers = distinct([...given, ...refs.map((r) => r.layer)]);
  return { sites: distinct(refs.map((r) => r.site)), layers: layers.length > 0 ? layers : [...Array(nLayers).keys()] };
}

/** Removes what an earlier capture wrote in `dir` (with --force), and nothing else. */
function clearCapture(dir: string): void {
  for (const e of readdirSync(dir)) {
    if (e.startsWith('site=') || ['manifest.json', 'tokens.arrow', '.capture-state.json'].includes(e)) rmSync(join(dir, e), { recursive: true, force: true });
  }
}

export function registerCapture(program: Command, setExit: (code: number) => void): void {
  program
    .command('capture')
    .description('capture per-stream activations and per-token HC coefficients to Arrow files')
    .option('--run <dir>', 'training run (runs/NAME); or, without it, --checkpoint and --corpus')
    .requiredOption('--out <dir>', 'output folder (acts/NAME)')
    .option('--checkpoints <list>', 'with --run: capture each checkpoint, "all" or steps such as 40,80, into OUT/checkpoints/step-XXXXXX/ (one capture each)')
    .option('--checkpoint <file>', 'model .safetensors: one of the run\'s (default its latest), or any checkpoint without --run')
    .option('--corpus <spec>', 'synthetic, a text/JSONL file or .bin token ids (default: the run\'s; required without --run)')
    .option('--tokenizer <name>', 'byte|gpt2, for a text corpus (default: the run\'s; without a run gpt2 if the model has ≥ 50257 tokens, else byte)')
    .option('--seed <s>', `seed of the synthetic corpus (default: the run's; without a run ${DEFAULT_CORPUS_SEED})`)
    .option('--split <split>', 'train|val', 'val')
    .option('--tokens <n>', 'tokens to capture (whole sequences)', '100000')
    .option('--sites <list>', `sites (${CAPTURE_SITES.join(',')}) or hook names (blocks.1.hook_resid_post, which also selects layer 1); default ${DEFAULT_CAPTURE_SITES}`)
    .option('--hooks <list>', 'another name for --sites, e.g. blocks.0.hook_resid_pre,blocks.1.hook_mlp_out')
    .option('--layers <list>', 'layers, e.g. 0,3,5 (default: those the hook names select, else all)')
    .option('--dtype <type>', 'float32|float16', 'float32')
    .option('--batch <b>', 'sequences per forward pass', '8')
    .option('--shard-mb <mb>', 'shard size limit in MiB', '256')
    .option('--backend <name>', BACKENDS.join('|'), 'auto')
    .option('--writer-thread <bool>', 'true: build and write the shards on a worker thread while the next batch runs; false: between batches, on the main thread (the same bytes)', 'true')
    .option('--resume', 'continue an interrupted capture, skipping completed shards')
    .option('--force', 'overwrite an existing capture')
    .action(async (o: Opts) => {
      setExit(
        await runCommand(() => overCheckpoints('capture', o, async (o) => {
          const out = o.out as string;
          const source = resolveModelSource({
            ...(typeof o.run === 'string' ? { run: o.run } : {}),
            ...(typeof o.checkpoint === 'string' ? { checkpoint: o.checkpoint } : {}),
            ...(typeof o.corpus === 'string' ? { corpus: o.corpus } : {}),
            ...(typeof o.tokenizer === 'string' ? { tokenizer: parseChoice('--tokenizer', o.tokenizer, ['byte', 'gpt2'] as const) } : {}),
            ...(typeof o.seed === 'string' ? { seed: parseIntFlag('--seed', o.seed, 0) } : {}),
          });
          const { run, checkpoint: ckpt, file, config } = source;
          const selection = parseCaptureSelection(o, config.nLayers);
          // Unnamed sites are the defaults less those this kind lacks (coeffs of post-norm, ...).
          const sites = typeof o.sites === 'string' || typeof o.hooks === 'string' ? selection.sites : availableSites(selection.sites, config);
          const layers = selection.layers;
          const dtype = parseChoice('--dtype', o.dtype as string, ['float32', 'float16'] as const);
          const split = parseChoice('--split', o.split as string, ['train', 'val'] as const);
          const tokens = parseIntFlag('--tokens', o.tokens as string);
          const batch = parseIntFlag('--batch', o.batch as string);
          const shardBytes = parseIntFlag('--shard-mb', o.shardMb as string) * 1024 * 1024;
          const backend = parseChoice('--backend', o.backend as string, BACKENDS);
          const writerThread = parseChoice('--writer-thread', o.writerThread as string, ['true', 'false'] as const) === 'true';
          if (existsSync(join(out, 'manifest.json')) && o.resume === true) {
            process.stderr.write(`${out} is already complete; nothing to do\n`);
            return;
          }
          // checkpoints/ holds the per-checkpoint captures (--checkpoints): not this capture's.
          if (existsSync(out) && readdirSync(out).some((e) => e !== 'checkpoints') && o.resume !== true) {
            if (o.force !== true) throw new ConfigError(`output ${shown(out)} already exists; pass --force to overwrite it or --resume to continue it`);
            clearCapture(out);
          }
          // The writer thread loads while the corpus is read and the backend starts.
          if (writerThread) void prestartWriterThread();
          const corpus = openSourceCorpus(source);
          // the WebGPU engine's forward where it covers the model (tfjs on wasm holds the parameters)
          const engine = await engineDeviceFor(backend, config, 'captures');
          await initBackend(engine ? 'wasm' : backend);
          const params = paramsFromCheckpoint(file, config, ckpt);
          const bar = progressLine('capture');
          const command = process.argv.slice(2).filter((a) => a !== '--resume' && a !== '--force');
          let forward: Awaited<ReturnType<typeof engineCaptureForward>> | undefined;
          try {
            if (engine) forward = await engineCaptureForward(engine.device, config, params, batch);
            const m = await capture(
              { params, config, checkpoint: ckpt, run, corpus, source: { corpus: source.corpusSpec, tokenizer: tokenizerOf(corpus), seed: source.seed }, initReadStreams: readStreamsOf(file, config, ckpt), split, tokens, sites, layers, dtype, batch, shardBytes, out, resume: o.resume === true, command, writerThread, ...(forward ? { forward } : {}) },
              (done, total) => bar.update(done, total, 'sequences'),
            );
            bar.finish(`captured ${m.tokens} tokens (${m.sequences} sequences) × ${m.sites.join(', ')} × layers ${m.layers.join(',')} in ${m.shards.length} shards: ${out}${forward ? " (hcprobe's WebGPU engine)" : ''}`);
            // Whole sequences only, so up to one sequence short is normal; more means the split ran out.
            if (m.tokens + m.seq_len <= tokens) {
              process.stderr.write(`note: the ${split} split holds ${m.tokens} tokens in whole sequences of ${m.seq_len}: all of them were captured, not the ${tokens} asked for (--tokens)\n`);
            }
          } finally {
            forward?.destroy();
            disposeParams(params);
          }
        })),
      );
    });

  program
    .command('inspect')
    .description('summarise a capture: sites, layers, rows, bytes, dtype')
    .argument('<dir>', 'capture folder (acts/NAME)')
    .option('--json', 'print JSON')
    .action(async (dir: string, o: Opts) => {
      setExit(
        await runCommand(async () => {
          const m = readManifest(dir);
          const groups = new Map<string, { rows: number; bytes: number; shards: number }>();
          for (const s of m.shards) {
            const key = `${s.site} layer ${s.layer} ${s.module}`;
            const g = groups.get(key) ?? { rows: 0, bytes: 0, shards: 0 };
            g.rows += s.rows;
            g.bytes += s.bytes;
            g.shards++;
            groups.set(key, g);
          }
          const summary = {
            dir, tokens: m.tokens, sequences: m.sequences, seq_len: m.seq_len, dtype: m.dtype, sites: m.sites, layers: m.layers, modules: m.modules,
            n_streams: m.n_streams, d_model: m.d_model, labels: m.labels.map((l) => l.name), connection: m.model.connection.kind,
            shards: m.shards.length, bytes: m.shards.reduce((a, s) => a + s.bytes, 0),
            groups: [...groups.entries()].map(([k, g]) => ({ group: k, ...g })),
          };
          if (o.json === true) {
            process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
            return;
          }
          process.stdout.write(`${dir}: ${m.tokens} tokens (${m.sequences} × ${m.seq_len}), ${m.model.connection.kind} with ${m.n_streams} streams, d ${m.d_model}, ${m.dtype}\n`);
          process.stdout.write(`sites: ${m.sites.join(', ')}; layers: ${m.layers.join(', ')}; labels: ${summary.labels.join(', ') || '(none)'}\n`);
          process.stdout.write(`${m.shards.length} shards, ${(summary.bytes / 1048576).toFixed(1)} MiB\n`);
          for (const g of summary.groups) process.stdout.write(`  ${g.group.padEnd(28)} ${String(g.rows).padStart(9)} rows ${(g.bytes / 1048576).toFixed(2).padStart(9)} MiB\n`);
        }),
      );
    });
}
