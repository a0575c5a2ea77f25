// `hcprobe perplexity`: mean next-token cross-entropy and perplexity of a checkpoint on a nanoGPT
// .bin file of uint16 token ids, over windows of blockSize + 1 tokens (probes/perplexity.ts).
import type { Command } from 'commander';
import { openModelFile } from '../../probes/model-text.ts';
import { perplexity, readBinPrefix } from '../../probes/perplexity.ts';
import { BACKENDS, type BackendName, initBackend } from '../../src/engine/backend.ts';
import { ConfigError } from '../../src/errors.ts';
import { assertWritable, writeFileAtomic } from '../../src/io/atomic-write.ts';
import { paramsFromCheckpoint } from '../../src/model/checkpoint.ts';
import { disposeParams } from '../../src/model/params.ts';
import { parseChoice, parseIntFlag } from '../parse.ts';
import { progressLine } from '../progress.ts';
import { runCommand } from '../run-command.ts';

type Opts = Record<string, string | boolean | undefined>;

export interface PerplexityArgs {
  run: string | undefined;
  checkpoint: string | undefined;
  bin: string;
  /** The first N tokens of the file; undefined: all. */
  tokens: number | undefined;
  batch: number;
  /** Undefined: blockSize + 1, non-overlapping windows. */
  stride: number | undefined;
  out: string | undefined;
  force: boolean;
  backend: BackendName;
}

/** Flags → typed arguments (pure). */
export function parsePerplexityArgs(o: Opts): PerplexityArgs {
  if (typeof o.bin !== 'string') throw new ConfigError('--bin FILE is required: a nanoGPT .bin file of uint16 token ids');
  return {
    run: typeof o.run === 'string' ? o.run : undefined,
    checkpoint: typeof o.checkpoint === 'string' ? o.checkpoint : undefined,
    bin: o.bin,
    tokens: typeof o.tokens === 'string' && o.tokens !== 'all' ? parseIntFlag('--tokens', o.tokens, 2) : undefined,
    batch: parseIntFlag('--batch', typeof o.batch === 'string' ? o.batch : '4'),
    stride: typeof o.stride === 'string' ? parseIntFlag('--stride', o.stride) : undefined,
    out: typeof o.out === 'string' ? o.out : undefined,
    force: o.force === true,
    backend: parseChoice('--backend', typeof o.backend === 'string' ? o.backend : 'auto', BACKENDS),
  };
}

export function registerPerplexity(program: Command, setExit: (code: number) => void): void {
  program
    .command('perplexity')
    .description('mean cross-entropy and perplexity of a checkpoint on a nanoGPT .bin file (uint16 token ids)')
    .option('--run <dir>', 'training run (its latest checkpoint)')
    .option('--checkpoint <file>', 'a .safetensors model; with --run, one of its checkpoints')
    .requiredOption('--bin <file>', 'token ids, little-endian uint16 (e.g. data/openwebtext/val.bin)')
    .option('--tokens <n>', 'score only the first n tokens of the file, or "all"', 'all')
    .option('--batch <b>', 'windows per forward pass', '4')
    .option('--stride <s>', 'tokens between window starts, 1 … blockSize + 1 (default blockSize + 1: non-overlapping; smaller scores each target once with more context)')
    .option('--out <file>', 'also write the result as JSON')
    .option('--force', 'overwrite an existing --out file')
    .option('--backend <name>', BACKENDS.join('|'), 'auto')
    .action(async (o: Opts) => {
      setExit(
        await runCommand(async () => {
          const a = parsePerplexityArgs(o);
          if (a.out !== undefined) assertWritable(a.out, a.force);
          const m = openModelFile({ ...(a.run === undefined ? {} : { run: a.run }), ...(a.checkpoint === undefined ? {} : { checkpoint: a.checkpoint }) });
          const c = m.config;
          const { ids, fileTokens } = readBinPrefix(a.bin, c.vocabSize, a.tokens);
          await initBackend(a.backend);
          const params = paramsFromCheckpoint(m.file, c, m.checkpoint);
          const bar = progressLine('perplexity');
          try {
            const r = perplexity(params, c, ids, { batch: a.batch, ...(a.stride === undefined ? {} : { stride: a.stride }) }, (done, total) => bar.update(done, total, 'batches'));
            const stride = a.stride ?? c.blockSize + 1;
            const result = {
              kind: 'perplexity',
              created: new Date().toISOString(),
              run: m.run,
              checkpoint: m.checkpoint,
              bin: a.bin,
              model: { connection: c.connection.kind, n_streams: c.nStreams, n_layers: c.nLayers, d_model: c.dModel, vocab_size: c.vocabSize, block_size: c.blockSize },
              file_tokens: fileTokens,
              tokens_read: ids.length,
              stride,
              windows: r.windows,
              targets: r.targets,
              dropped_tail_tokens: r.droppedTail,
              mean_ce: r.meanCe,
              perplexity: r.perplexity,
            };
            if (a.out !== undefined) writeFileAtomic(a.out, `${JSON.stringify(result, null, 1)}\n`, { force: a.force });
            bar.finish();
            process.stdout.write(`perplexity ${r.perplexity.toFixed(4)} (mean CE ${r.meanCe.toFixed(4)} nats) over ${r.targets} targets in ${r.windows} windows of ${c.blockSize + 1} tokens (stride ${stride}) from ${a.bin}${a.out ? `; wrote ${a.out}` : ''}\n`);
          } catch (e) {
            bar.finish();
            throw e;
          } finally {
            disposeParams(params);
          }
        }),
      );
    });
}
