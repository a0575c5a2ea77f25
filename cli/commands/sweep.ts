// `hcprobe sweep --grid FILE`: trains connection kinds × stream inits × seeds (each run a
// child `hcprobe train`), then summarises final validation loss, dominance and N_eff with
// 95% t-intervals over seeds: summary.md, summary.json and sweep.html in the sweep folder.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { ConfigError, shown, shownJson } from '../../src/errors.ts';
import { writeFileAtomic } from '../../src/io/atomic-write.ts';
import { CONNECTION_KINDS, type ConnectionKind, STREAM_INIT_KINDS, type StreamInitKind } from '../../src/model/config.ts';
import { copyInitOnly } from '../../src/model/stream-layout.ts';
import { latestCheckpoint, runPaths } from '../../src/train/run-dir.ts';
import { checkFlatConfig, type FlatTrainConfig } from '../../src/train/train-config.ts';
import { summariseRun } from '../../reports/run-data.ts';
import { summariseSweep } from '../../api/sweep-stats.ts';
import { renderSweepPage, type SweepRun, sweepMarkdown, sweepRunsMarkdown } from '../../reports/sweep-summary.ts';
import { runCommand } from '../run-command.ts';
import { loadRun, writeReport } from '../../api/report-files.ts';

type Opts = Record<string, string | boolean | undefined>;

export const BIN = fileURLToPath(new URL('../../bin/hcprobe.mjs', import.meta.url));

export interface SweepGrid {
  name: string;
  connections: ConnectionKind[];
  streamInits: StreamInitKind[];
  seeds: number[];
  /** Flat train config under every run (keys of `hcprobe train --config`). */
  config: FlatTrainConfig;
}

const GRID_KEYS = ['name', 'connections', 'streamInits', 'seeds', 'config'];

/** Checks a grid file's object (pure): unknown keys, kinds, at least three distinct seeds. */
export function parseSweepGrid(raw: unknown, source: string): SweepGrid {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${source}: expected a JSON object, got ${shownJson(raw)}`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!GRID_KEYS.includes(k)) throw new ConfigError(`${source}: unknown key ${shown(k)} (known: ${GRID_KEYS.join(', ')})`);
  const list = <T extends string>(key: string, allowed: readonly T[]): T[] => {
    const v = o[key];
    if (!Array.isArray(v) || v.length === 0) throw new ConfigError(`${source}: ${key} must be a non-empty array, got ${shownJson(v)}`);
    for (const x of v) if (!(allowed as readonly unknown[]).includes(x)) throw new ConfigError(`${source}: ${key} has ${shown(x)}; expected one of ${allowed.join(', ')}`);
    return [...new Set(v as T[])];
  };
  const connections = list('connections', CONNECTION_KINDS);
  const streamInits = list('streamInits', STREAM_INIT_KINDS);
  const seeds = o.seeds;
  if (!Array.isArray(seeds) || !seeds.every((s) => Number.isInteger(s) && s >= 0)) throw new ConfigError(`${source}: seeds must be an array of non-negative integers, got ${shownJson(seeds)}`);
  if (new Set(seeds).size < 3) throw new ConfigError(`${source}: seeds needs at least 3 distinct seeds for a confidence interval worth reading, got ${shownJson(seeds)}`);
  const config = o.config === undefined ? {} : checkFlatConfig(o.config, `${source}: config`);
  for (const k of ['connection', 'streamInit', 'seed'] as const) if (k in config) throw new ConfigError(`${source}: config.${k} is set by the grid; remove it`);
  const name = o.name === undefined ? basename(source).replace(/\.json$/i, '') : o.name;
  if (typeof name !== 'string' || !/^[A-Za-z0-9._-]+$/.test(name)) throw new ConfigError(`${source}: name must be letters, digits, '.', '_' or '-', got ${shownJson(name)}`);
  return { name, connections, streamInits, seeds: [...new Set(seeds as number[])], config };
}

export interface SweepCell {
  cell: string;
  connection: ConnectionKind;
  streamInit: StreamInitKind;
}

/**
 * Connection × init, with one cell for each kind whose streams start as the embedding itself
 * (residual, post-norm, residual-dual, frac: no init scheme applies), named by the kind.
 */
export function sweepCells(g: SweepGrid): SweepCell[] {
  const cells: SweepCell[] = [];
  for (const connection of g.connections) {
    if (copyInitOnly(connection)) {
      cells.push({ cell: connection, connection, streamInit: 'copy' });
      continue;
    }
    for (const streamInit of g.streamInits) cells.push({ cell: `${connection}-${streamInit}`, connection, streamInit });
  }
  return cells;
}

/** A run that reached its configured last step. */
export function runComplete(dir: string): boolean {
  if (!existsSync(join(dir, 'config.json'))) return false;
  try {
    const r = loadRun(dir);
    const steps = r.config.steps;
    const last = r.metrics[r.metrics.length - 1];
    return steps !== undefined && last !== undefined && last.step >= steps && typeof last.val_loss === 'number';
  } catch {
    return false;
  }
}

/** Runs `hcprobe ARGS` as a child; its progress goes to our stderr. */
export function runCli(args: string[]): Promise<number> {
  return new Promise((resolveExit, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolveExit(code ?? (signal ? 128 : 1)));
  });
}

export function registerSweep(program: Command, setExit: (code: number) => void): void {
  program
    .command('sweep')
    .description('train connection kinds × stream inits × seeds and summarise validation loss and dominance with 95% confidence intervals')
    .requiredOption('--grid <file>', 'JSON: {"name", "connections": [...], "streamInits": [...], "seeds": [≥3], "config": {flat train config}}')
    .option('--out <dir>', 'sweep folder (default runs/sweep-NAME)')
    .option('--force', 'retrain every run, even complete ones (without it, complete runs are kept and interrupted ones resume)')
    .action(async (o: Opts) => {
      setExit(
        await runCommand(async () => {
          const gridFile = o.grid as string;
          let raw: unknown;
          try {
            raw = JSON.parse(readFileSync(gridFile, 'utf8'));
          } catch (e) {
            throw new ConfigError(`--grid ${shown(gridFile)}: ${(e as Error).message}`);
          }
          const grid = parseSweepGrid(raw, gridFile);
          const out = typeof o.out === 'string' ? o.out : join('runs', `sweep-${grid.name}`);
          const force = o.force === true;
          const cells = sweepCells(grid);
          const jobs = cells.flatMap((c) => grid.seeds.map((seed) => ({ ...c, seed, dir: join(out, `${c.cell}-s${seed}`) })));
          const tmp = mkdtempSync(join(tmpdir(), 'hcprobe-sweep-'));
          const cfgFile = join(tmp, 'config.json');
          writeFileSync(cfgFile, JSON.stringify(grid.config));
          const t0 = performance.now();
          try {
            for (const [i, j] of jobs.entries()) {
              const tag = `[${i + 1}/${jobs.length}] ${j.cell} seed ${j.seed}`;
              if (!force && runComplete(j.dir)) {
                process.stderr.write(`${tag}: already complete in ${j.dir}\n`);
                continue;
              }
              // A run stopped part-way (the sweep was killed) resumes from its last checkpoint when it
              // was started by this same job; otherwise it is trained afresh.
              const spec = JSON.stringify({ config: grid.config, connection: j.connection, streamInit: j.streamInit, seed: j.seed });
              const marker = join(out, '.jobs', `${basename(j.dir)}.json`);
              const resume = !force && existsSync(marker) && readFileSync(marker, 'utf8') === spec && latestCheckpoint(runPaths(j.dir)) !== undefined;
              process.stderr.write(`${tag}: ${resume ? 'resuming' : 'training'} into ${j.dir} (${Math.round((performance.now() - t0) / 1000)}s elapsed)\n`);
              if (!resume) writeFileAtomic(marker, spec, { force: true });
              const args = resume ? ['train', '--out', j.dir, '--resume'] : ['train', '--config', cfgFile, '--connection', j.connection, '--stream-init', j.streamInit, '--seed', String(j.seed), '--out', j.dir, '--force'];
              const code = await runCli(args);
              if (code !== 0) throw new ConfigError(`${tag}: hcprobe train exited with code ${code}; fix the grid and run the sweep again (complete runs are kept)`);
            }
          } finally {
            rmSync(tmp, { recursive: true, force: true });
          }
          const runs: SweepRun[] = jobs.map((j) => {
            const run = loadRun(j.dir);
            return { cell: j.cell, seed: j.seed, run, summary: summariseRun(run) };
          });
          const rows = summariseSweep(runs, cells.map((c) => c.cell));
          // the per-run stream table only where some run has more than one stream
          const perRun = runs.some((r) => r.summary.nStreams > 1) ? `\n## Runs\n\n${sweepRunsMarkdown(runs)}` : '';
          const md = `# Sweep ${grid.name}\n\nGrid: ${JSON.stringify(grid)}\n\n${sweepMarkdown(rows)}${perRun}`;
          writeFileAtomic(join(out, 'summary.md'), md, { force: true });
          writeFileAtomic(join(out, 'summary.json'), `${JSON.stringify({ grid, rows, runs: runs.map((r) => ({ cell: r.cell, seed: r.seed, ...r.summary })) }, null, 2)}\n`, { force: true });
          const page = renderSweepPage(grid.name, rows, runs);
          const w = writeReport(join(out, 'sweep.html'), page, true);
          process.stdout.write(`${sweepMarkdown(rows)}\nsummary: ${join(out, 'summary.md')}; page: ${w.html}\n`);
        }),
      );
    });
}
