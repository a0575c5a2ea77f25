// Shared by the end-to-end probe tests: a tiny synthetic run trained once per file (about
// 150 steps; it learns part of speech well, topic barely), its capture, and the CLI as a child.
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'hcprobe.mjs');

export const TINY_RUN = {
  layers: 2, dModel: 32, heads: 2, seqLen: 32, batchSize: 8, steps: 300, lr: 0.005, warmup: 15,
  evalInterval: 300, logInterval: 50, checkpointInterval: 300, evalBatches: 2, diagBatch: 2, streams: 4, backend: 'wasm', workers: 1,
};

export function cli(args: string[], timeoutMs = 240_000): SpawnSyncReturns<string> {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs });
  if (r.error) throw r.error;
  return r;
}

export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcprobe-probes-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Trains a run from `config` into dir/run and captures `tokens` validation tokens into dir/acts. */
export function trainAndCapture(dir: string, sites: string, tokens: number, config: Record<string, unknown> = TINY_RUN): { run: string; acts: string } {
  const cfg = path.join(dir, `${path.basename(dir)}-config.json`);
  fs.writeFileSync(cfg, JSON.stringify(config));
  const run = path.join(dir, 'run');
  const acts = path.join(dir, 'acts');
  const t = cli(['train', '--config', cfg, '--out', run]);
  if (t.status !== 0) throw new Error(`train failed (${t.status}): ${t.stderr}`);
  const c = cli(['capture', '--run', run, '--out', acts, '--tokens', String(tokens), '--sites', sites, '--backend', 'wasm']);
  if (c.status !== 0) throw new Error(`capture failed (${c.status}): ${c.stderr}`);
  return { run, acts };
}

/** A copy of a capture whose manifest is edited, e.g. to claim zero tokens. */
export function editedCapture(acts: string, to: string, edit: (m: Record<string, unknown>) => void): string {
  fs.cpSync(acts, to, { recursive: true });
  const file = path.join(to, 'manifest.json');
  const m = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(m);
  fs.writeFileSync(file, JSON.stringify(m));
  return to;
}
