// `hcprobe diagnose`: docs/metrics.md stream diagnostics of a capture (and, with its model, the causal
// stream ablations and per-stream logit lens) to one JSON file.
import type { Command } from 'commander';
import { DEFAULT_RESCUE_TOKENS } from '../../probes/ablate-rescue.ts';
import { diagnose } from '../../probes/diagnose.ts';
import { captureSource, type ModelSource, openModelForActs, type RunHandle } from '../../probes/load-run.ts';
import { readManifest } from '../../src/capture/read.ts';
import { BACKENDS, type BackendName, initBackend } from '../../src/engine/backend.ts';
import { assertWritable, writeFileAtomic } from '../../src/io/atomic-write.ts';
import { disposeParams } from '../../src/model/params.ts';
import { parseChoice, parseIntFlag } from '../parse.ts';
import { progressLine } from '../progress.ts';
import { overCheckpoints } from '../over-checkpoints.ts';
import { runCommand } from '../run-command.ts';

type Opts = Record<string, string | boolean | undefined>;

export interface DiagnoseArgs {
  acts: string;
  /** The model for the causal part, as the flags name it (--run, --checkpoint, --corpus, --tokenizer). */
  model: ModelSource;
  out: string;
  force: boolean;
  evalTokens: number;
  /** Tokens for ablate-and-rescue; 0 with --no-rescue. */
  rescueTokens: number;
  batch: number;
  maxTokens: number | undefined;
  seed: number;
  backend: BackendName;
  /** Ridge worker threads besides the main one; undefined: one per extra core. */
  workers: number | undefined;
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
    rescueTokens: o.rescue === false ? 0 : parseIntFlag('--rescue-tokens', (o.rescueTokens as string | undefined) ?? String(DEFAULT_RESCUE_TOKENS)),
    batch: parseIntFlag('--batch', o.batch as string),
    maxTokens: o.maxTokens === undefined || o.maxTokens === 'all' ? undefined : parseIntFlag('--max-tokens', o.maxTokens as string),
    seed: parseIntFlag('--seed', o.seed as string, 0),
    backend: parseChoice('--backend', o.backend as string, BACKENDS),
    workers: o.workers === undefined ? undefined : parseIntFlag('--workers', o.workers as string, 0),
  };
}

export function registerDiagnose(program: Command, setExit: (code: number) => void): void {
  program
    .command('diagnose')
    .description('stream diagnostics of a capture (signal shares, N_eff, mixing, CKA, ridge R², unfolded matrix; with the model: ablations and logit lens)')
    .requiredOption('--acts <dir>', 'capture folder (acts/NAME)')
    .requiredOption('--out <file>', 'output JSON (results/NAME/diagnostics.json)')
    .option('--checkpoints <list>', 'diagnose each per-checkpoint capture in ACTS/checkpoints/ ("all" or steps such as 40,80) into DIR/checkpoints/step-XXXXXX/diagnostics.json for --out DIR/diagnostics.json; the causal part is off unless --causal')
    .option('--causal', 'with --checkpoints: run the causal part (ablations, logit lens) at every checkpoint too; the timeline does not need it')
    .option('--run <dir>', "the capture's training run, for the causal part (default: the run named in the capture, if it exists)")
    .option('--checkpoint <file>', "the model for the causal part without a run (default: the capture's checkpoint, if it exists); with --run, one of its checkpoints")
    .option('--corpus <spec>', "corpus for the causal part (default: the run's, else the capture's)")
    .option('--tokenizer <name>', "byte|gpt2, for a text --corpus (default: the capture's, else by the model's vocabulary)")
    .option('--eval-tokens <n>', 'validation tokens for ablations and the logit lens', '16384')
    .option('--rescue-tokens <n>', 'validation tokens for pair ablation and stream rescue (L·(n + n(n−1)/2 + n²) forward passes per batch)', String(DEFAULT_RESCUE_TOKENS))
    .option('--no-rescue', 'skip pair ablation and stream rescue')
    .option('--batch <b>', 'sequences per forward pass in the causal part', '8')
    .option('--max-tokens <n>', 'captured tokens read per site (whole sequences), or "all"', 'all')
    .option('--seed <s>', 'seed of the 80/20 sequence split for ridge R²', '0')
    .option('--backend <name>', BACKENDS.join('|'), 'auto')
    .option('--workers <n>', 'worker threads for the cross-stream ridge fits besides the main one (default: one per extra core; results do not depend on it)')
    .option('--force', 'overwrite an existing output file')
    .action(async (o: Opts) => {
      setExit(
        await runCommand(() => overCheckpoints('diagnose', o, async (o) => {
          const a = parseDiagnoseArgs(o);
          assertWritable(a.out, a.force);
          const m = readManifest(a.acts);
          // --checkpoints turns the causal part off (causal: false) unless --causal is given.
          const source = o.causal === false ? { skip: 'per-checkpoint diagnostics run without it unless --causal is given' } : captureSource(m, a.model);
          const skipReason = 'skip' in source ? source.skip : undefined;
          await initBackend(a.backend);
          let run: RunHandle | null = null;
          if (!('skip' in source)) run = openModelForActs(source, m, a.acts);
          else process.stderr.write(`diagnose: causal part skipped (${skipReason})\n`);
          const bar = progressLine('diagnose');
          try {
            const result = await diagnose(
              { acts: a.acts, manifest: m, run, ...(skipReason ? { skipReason } : {}), evalTokens: a.evalTokens, rescueTokens: a.rescueTokens, batch: a.batch, seed: a.seed, ...(a.maxTokens === undefined ? {} : { maxTokens: a.maxTokens }), ...(a.workers === undefined ? {} : { workers: a.workers }) },
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
        })),
      );
    });
}
