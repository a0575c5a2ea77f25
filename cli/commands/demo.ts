// `hcprobe demo`: the whole experiment on the embedded synthetic corpus at CPU scale — a
// residual baseline, mhc-lite with copy init and mhc-lite with LSS init; train, capture,
// diagnose, probe, SAE — then runs/demo/report.html and runs/demo/compare.html.
// Each stage runs as a child `hcprobe` command (its own backend and memory, its own progress
// bar); a stage whose output exists is kept unless --force, so an interrupted demo continues.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../../src/errors.ts';
import { renderCompare } from '../../reports/compare-report.ts';
import { runCommand } from '../run-command.ts';
import { compareInputs } from './compare.ts';
import { renderReportFor, siblingDir, writeReport } from '../../api/report-files.ts';
import { runCli, runComplete } from './sweep.ts';

type Opts = Record<string, string | boolean | undefined>;

/**
 * Sizes chosen so the demo needs about 8 minutes on two shared cores (the budget is ten minutes
 * of wall time, with room for a machine that is busy with other work); each with its reason.
 */
export const DEMO_DEFAULTS = {
  preset: 'tiny', // 2 layers, d 64, seq 64: the collapse dynamics show within a few hundred steps
  steps: 240, // loss has flattened and the seeding stage is over well before this
  captureTokens: 8192, // 128 sequences: enough tokens for shares, CKA and probes on d = 64
  diagEvalTokens: 4096, // ablations and logit lens: 2·n·L extra forward passes over these
  probeTokens: 6144, // probes split by sequence: ~60 sequences to train on, accuracy already stable
  probeLabels: 'topic,pos,number', // document-, token- and agreement-level latents: one of each kind
  probeL2: '0.01,0.001,0.0001', // three strengths bracket the choice at this size; each costs a full path
  saeTokens: 49152, // six passes over the 8192 captured tokens
  saeBatch: 1024, // 48 Adam steps at that size: features form, where 4096-token batches give 12
  saeExpansion: 4, // 4·(n·d) = 1024 latents on the concatenated streams
  saeK: 16,
  saeSeeds: '0,1,2', // three SAEs per HC run: is "features live in stream i" stable across seeds?
  checkpointInterval: 40, // six checkpoints over 240 steps: the seeding stage and what follows
  timelineTokens: 4096, // per checkpoint: shares, identity distance and probes need far fewer tokens than the final analysis
  timelineProbeSite: 'blocks.1.hook_resid_post', // the last layer, where dominance is measured
  timelineProbeLabels: 'topic,pos',
  timelineSaeTokens: 8192, // per checkpoint SAE (concat, last layer): attribution by stream, no dashboards
} as const;

export const DEMO_RUNS = [
  { name: 'residual', flags: ['--connection', 'residual'] },
  { name: 'mhc-lite-copy', flags: ['--connection', 'mhc-lite', '--stream-init', 'copy'] },
  { name: 'mhc-lite-lss', flags: ['--connection', 'mhc-lite', '--stream-init', 'lss'] },
] as const;

export interface DemoStage {
  label: string;
  /** The `hcprobe` command it runs. */
  command: string;
  args: string[];
  /** Present when the stage already ran. */
  output: string;
  /** Done when `output` exists (train: when the run reached its last step). */
  done: () => boolean;
}

/** The demo's stages in order, as child `hcprobe` invocations (pure: builds the plan only). */
export function demoPlan(root: string, o: { steps: number }): DemoStage[] {
  const D = DEMO_DEFAULTS;
  // A stage runs only when its output is missing or incomplete (or with --force), so it may
  // always overwrite: a capture killed halfway leaves a folder that needs --force.
  const force = ['--force'];
  const stages: DemoStage[] = [];
  for (const r of DEMO_RUNS) {
    const run = join(root, r.name);
    // acts/… and results/… mirror runs/…, where `hcprobe report --run` looks for them.
    const acts = siblingDir(run, 'acts');
    const results = siblingDir(run, 'results');
    const hc = r.name !== 'residual';
    const interval = hc ? ['--checkpoint-interval', String(D.checkpointInterval)] : [];
    stages.push({ label: `train ${r.name}`, command: 'train', args: ['train', '--preset', D.preset, '--steps', String(o.steps), ...r.flags, ...interval, '--out', run, ...force], output: run, done: () => runComplete(run) });
    stages.push({ label: `capture ${r.name}`, command: 'capture', args: ['capture', '--run', run, '--out', acts, '--tokens', String(D.captureTokens), '--sites', r.name === 'residual' ? 'resid_post' : 'resid_post,coeffs', ...force], output: acts, done: () => existsSync(join(acts, 'manifest.json')) });
    stages.push({ label: `diagnose ${r.name}`, command: 'diagnose', args: ['diagnose', '--acts', acts, '--run', run, '--out', join(results, 'diagnostics.json'), '--eval-tokens', String(D.diagEvalTokens), ...force], output: join(results, 'diagnostics.json'), done: () => existsSync(join(results, 'diagnostics.json')) });
    stages.push({ label: `probe ${r.name}`, command: 'probe', args: ['probe', '--acts', acts, '--out', join(results, 'probes.json'), '--labels', D.probeLabels, '--max-tokens', String(D.probeTokens), '--l2', D.probeL2, ...force], output: join(results, 'probes.json'), done: () => existsSync(join(results, 'probes.json')) });
    // One stream has nothing to attribute or to follow over training: the HC runs only.
    if (hc) {
      const sae = ['--mode', 'concat', '--expansion', String(D.saeExpansion), '--k', String(D.saeK), ...force];
      stages.push({ label: `sae ${r.name} (concat, seeds ${D.saeSeeds})`, command: 'sae', args: ['sae', '--acts', acts, '--out', join(results, 'sae'), '--site', 'resid_post', '--tokens', String(D.saeTokens), '--batch', String(D.saeBatch), '--seeds', D.saeSeeds, ...sae], output: join(results, 'sae', 'concat'), done: () => existsSync(join(results, 'sae', 'concat', 'summary.json')) });
      // Over training: the same analyses, smaller, at every checkpoint (results/…/checkpoints/step-*/).
      const last = `step-${String(o.steps).padStart(6, '0')}`;
      const ckAll = ['--checkpoints', 'all'];
      stages.push({ label: `capture ${r.name} (every checkpoint)`, command: 'capture', args: ['capture', '--run', run, '--out', acts, ...ckAll, '--tokens', String(D.timelineTokens), '--sites', 'resid_post,coeffs', ...force], output: join(acts, 'checkpoints'), done: () => existsSync(join(acts, 'checkpoints', last, 'manifest.json')) });
      stages.push({ label: `diagnose ${r.name} (every checkpoint)`, command: 'diagnose', args: ['diagnose', '--acts', acts, '--out', join(results, 'diagnostics.json'), ...ckAll, ...force], output: join(results, 'checkpoints'), done: () => existsSync(join(results, 'checkpoints', last, 'diagnostics.json')) });
      stages.push({ label: `probe ${r.name} (every checkpoint)`, command: 'probe', args: ['probe', '--acts', acts, '--out', join(results, 'probes.json'), ...ckAll, '--sites', D.timelineProbeSite, '--labels', D.timelineProbeLabels, '--max-tokens', String(D.timelineTokens), '--l2', D.probeL2, ...force], output: join(results, 'checkpoints'), done: () => existsSync(join(results, 'checkpoints', last, 'probes.json')) });
      stages.push({ label: `sae ${r.name} (every checkpoint)`, command: 'sae', args: ['sae', '--acts', acts, '--out', join(results, 'sae'), ...ckAll, '--layers', '1', '--tokens', String(D.timelineSaeTokens), '--batch', String(D.saeBatch), '--features', '0', ...sae], output: join(results, 'checkpoints'), done: () => existsSync(join(results, 'checkpoints', last, 'sae', 'concat', 'summary.json')) });
    }
  }
  return stages;
}

export function registerDemo(program: Command, setExit: (code: number) => void): void {
  program
    .command('demo')
    .description('run the whole experiment on the synthetic corpus (residual, mhc-lite + copy, mhc-lite + lss: train, capture, diagnose, probe, SAE) and write runs/demo/report.html')
    .option('--out <dir>', 'demo folder', 'runs/demo')
    .option('--steps <n>', `training steps per run (default ${DEMO_DEFAULTS.steps})`)
    .option('--force', 'redo every stage, even those already done')
    .action(async (o: Opts) => {
      setExit(
        await runCommand(async () => {
          const root = o.out as string;
          const steps = typeof o.steps === 'string' ? Number(o.steps) : DEMO_DEFAULTS.steps;
          if (!Number.isInteger(steps) || steps < 20) throw new ConfigError(`--steps must be an integer ≥ 20, got ${JSON.stringify(o.steps)}`);
          const force = o.force === true;
          const stages = demoPlan(root, { steps });
          const t0 = performance.now();
          const clock = () => `${Math.round((performance.now() - t0) / 1000)}s`;
          process.stderr.write(`hcprobe demo: ${DEMO_RUNS.map((r) => r.name).join(', ')} on the synthetic corpus, ${steps} steps each, into ${root}\n`);
          for (const [i, s] of stages.entries()) {
            const tag = `[demo ${i + 1}/${stages.length} · ${clock()}] ${s.label}`;
            if (!force && s.done()) {
              process.stderr.write(`${tag}: already done (${s.output}); --force redoes it\n`);
              continue;
            }
            process.stderr.write(`${tag}\n`);
            const code = await runCli(s.args);
            if (code !== 0) throw new Error(`demo stage "${s.label}" failed: hcprobe ${s.args.join(' ')} exited with code ${code}`);
          }
          process.stderr.write(`[demo · ${clock()}] reports\n`);
          const reports: string[] = [];
          for (const r of DEMO_RUNS) {
            const run = join(root, r.name);
            reports.push(writeReport(join(run, 'report.html'), renderReportFor(run, undefined), true).html);
          }
          // The headline report: the HC model without symmetry breaking, where collapse shows.
          const main = writeReport(join(root, 'report.html'), renderReportFor(join(root, 'mhc-lite-copy'), undefined), true).html;
          const inputs = compareInputs(DEMO_RUNS.map((r) => join(root, r.name)));
          const cmp = writeReport(join(root, 'compare.html'), renderCompare(inputs, 'hcprobe demo: residual vs mhc-lite (copy init) vs mhc-lite (LSS init)'), true).html;
          process.stderr.write(`[demo · ${clock()}] done\nper-run reports: ${reports.join(', ')}\ncomparison: ${cmp}\n`);
          process.stdout.write(`${main}\n`);
        }),
      );
    });
}
