// `hcprobe diagnose`: docs/metrics.md stream diagnostics of a capture (and, with its model, the causal
// stream ablations and per-stream logit lens) to one JSON file.
import type { Command } from 'commander';
import { diagnose } from '../../probes/diagnose.ts';
import { captureSource, type ModelSource, openModelForActs, type RunHandle } from '../../probes/load-run.ts';
import { readManifest } from '../../src/capture/read.ts';
import { BACKENDS, type BackendName, initBackend } from '../../src/engine/backend.ts';
import { assertWritable, writeFileAtomic } from '../../src/io/atomic-write.ts';
import { disposeParams } from '../../src/model/params.ts';
import { parseChoice, parseIntFlag } from '../parse.ts';
import { progressLine } from '../progress.ts';
import { runCommand } from '../run-command.ts';

type Opts = Record<string, string | boolean | undefined>;

export interface DiagnoseArgs {
  acts: string;
  /** The model for the causal part, as the flags name it (--run, --checkpoint, --corpus, --tokenizer). */
  model: ModelSource;
  out: string;
  force: boolean;
  evalTokens: number;
  batch: number;
  maxTokens: number | undefined;
  seed: number;
  backend: BackendName;
}

/** Flags → typed arguments (pure). */
export function parseDiagnoseArgs(o: Opts): DiagnoseArgs {
  return {
    acts: o.acts as string,
    model: {
      ...(typeof o.run === 'string' ? { run: o.run } : {}),
      ...(typeof o.checkpoint === 'string' ? { checkpoint: o.checkpoint } : {}),
      ...(typeof o.corpus === 'string' ? { corpus: o.corpus } : {}),
      ...(typeof o.tokenizer === 'string' ? { tokenizer: parseChoice('--tokenizer', o.tokenizer, ['byte', 'gpt2'] as const) } : {}),
    },
    out: o.out as string,
    force: o.force === true,
    evalTokens: parseIntFlag('--eval-tokens', o.evalTokens as string),
    batch: parseIntFlag('--batch', o.batch as string),
    maxTokens: o.maxTokens === undefined || o.maxTokens === 'all' ? undefined : parseIntFlag('--max-tokens', o.maxTokens as string),
    seed: parseIntFlag('--seed', o.seed as string, 0),
    backend: parseChoice('--backend', o.backend as string, BACKENDS),
  };
}

export function registerDiagnose(program: Command, setExit: (code: number) => void): void {
  program
    .command('diagnose')
    .description('stream diagnostics of a capture (signal shares, N_eff, mixing, CKA, ridge R², unfolded matrix; with the model: ablations and logit lens)')
    .requiredOption('--acts <dir>', 'capture folder (acts/NAME)')
    .requiredOption('--out <file>', 'output JSON (results/NAME/diagnostics.json)')
    .option('--run <dir>', "the capture's training run, for the causal part (default: the run named in the capture, if it exists)")
    .option('--checkpoint <file>', "the model for the causal part without a run (default: the capture's checkpoint, if it exists); with --run, one of its checkpoints")
    .option('--corpus <spec>', "corpus for the causal part (default: the run's, else the capture's)")
    .option('--tokenizer <name>', "byte|gpt2, for a text --corpus (default: the capture's, else by the model's vocabulary)")
    .option('--eval-tokens <n>', 'validation tokens for ablations and the logit lens', '16384')
    .option('--batch <b>', 'sequences per forward pass in the causal part', '8')
    .option('--max-tokens <n>', 'captured tokens read per site (whole sequences), or "all"', 'all')
    .option('--seed <s>', 'seed of the 80/20 sequence split for ridge R²', '0')
    .option('--backend <name>', BACKENDS.join('|'), 'auto')
    .option('--force', 'overwrite an existing output file')
    .action(async (o: Opts) => {
      setExit(
        await runCommand(async () => {
          const a = parseDiagnoseArgs(o);
          assertWritable(a.out, a.force);
          const m = readManifest(a.acts);
          const source = captureSource(m, a.model);
          const skipReason = 'skip' in source ? source.skip : undefined;
          await initBackend(a.backend);
          let run: RunHandle | null = null;
          if (!('skip' in source)) run = openModelForActs(source, m, a.acts);
          else process.stderr.write(`diagnose: causal part skipped (${skipReason})\n`);
          const bar = progressLine('diagnose');
          try {
            const result = await diagnose(
              { acts: a.acts, manifest: m, run, ...(skipReason ? { skipReason } : {}), evalTokens: a.evalTokens, batch: a.batch, seed: a.seed, ...(a.maxTokens === undefined ? {} : { maxTokens: a.maxTokens }) },
              (done, total, what) => bar.update(done, total, what),
            );
            writeFileAtomic(a.out, `${JSON.stringify(result, null, 1)}\n`, { force: a.force });
            const last = result.streams.filter((s) => s.site === 'resid_post' && s.module === 'mlp').at(-1);
            const summary = last ? `; resid_post after layer ${last.layer}: dominant stream ${last.signal.dominant} (share ${last.signal.dominance.toFixed(3)}), N_eff ${last.signal.n_eff.toFixed(2)}` : '';
            const bias = result.init_read_bias;
            const readBy = bias && last ? (bias.dominant_read_by.length ? ` (read at init by ${bias.dominant_read_by.join(', ')})` : ' (read by no module at init)') : '';
            const causal = result.causal ? `; validation CE ${result.causal.loss.toFixed(4)}` : '';
            bar.finish(`wrote ${a.out}${summary}${readBy}${causal}`);
          } catch (e) {
            bar.finish();
            throw e;
          } finally {
            if (run) disposeParams(run.params);
          }
        }),
      );
    });
}
