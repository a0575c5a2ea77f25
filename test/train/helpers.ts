// Shared by the training and CLI tests: a tiny training config that runs in about a second,
// temporary run directories, the CLI as a child process, and metrics files read strictly.
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(ROOT, 'bin', 'hcprobe.mjs');

/**
 * 1 layer, d 32, seq 32, batch 4: about 40 steps a second on the wasm backend. No gradient
 * workers, whatever the machine's cores (the default is one per extra core on wasm): a worker's
 * start costs more than these runs save, and workers.test.ts covers the parallel path.
 */
export const TINY = {
  layers: 1,
  dModel: 32,
  heads: 2,
  seqLen: 32,
  batchSize: 4,
  steps: 40,
  logInterval: 5,
  evalInterval: 20,
  checkpointInterval: 10,
  evalBatches: 1,
  diagBatch: 2,
  workers: 0,
};

/** A fresh temporary directory, removed when the test ends. */
export function tempDir(t: { after(fn: () => void): void }, prefix = 'hcprobe-train-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function writeJson(file: string, value: unknown): string {
  fs.writeFileSync(file, `${JSON.stringify(value)}\n`);
  return file;
}

/** Runs `hcprobe ARGS` to completion. */
export function cli(args: string[], timeoutMs = 120_000): SpawnSyncReturns<string> {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs });
  if (r.error) throw r.error;
  return r;
}

/** Every line of a metrics file as JSON; a line that does not parse fails the test. */
export function metricsOf(runDir: string): Record<string, unknown>[] {
  const text = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Records without the wall-clock field, the only one that may differ between equal runs. */
export function withoutTiming(records: Record<string, unknown>[]): Record<string, unknown>[] {
  return records.map(({ tokens_per_s: _, ...rest }) => rest);
}

/** Names of the checkpoint files of a run, sorted by step. */
export function checkpointFiles(runDir: string): string[] {
  const dir = path.join(runDir, 'checkpoints');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => /^step-\d+\.safetensors$/.test(f)).sort();
}

export function stepOf(file: string): number {
  return Number(/^step-(\d+)\.safetensors$/.exec(path.basename(file))?.[1]);
}

/** Every file under `dir` with its bytes and modification time, to show nothing changed. */
export function snapshot(dir: string): Map<string, { bytes: string; mtimeMs: number }> {
  const out = new Map<string, { bytes: string; mtimeMs: number }>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(dir, p), { bytes: fs.readFileSync(p).toString('base64'), mtimeMs: fs.statSync(p).mtimeMs });
    }
  };
  walk(dir);
  return out;
}

/**
 * Runs `hcprobe ARGS` in `cwd` and SIGKILLs it as soon as `check()` returns a value (polled
 * every 2 ms; killed regardless after 120 s). Resolves to the signal and that value.
 */
export function killWhen<T>(args: string[], cwd: string, check: () => T | undefined): Promise<{ signal: NodeJS.Signals | null; seen: T | undefined }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: 'ignore' });
    let seen: T | undefined;
    const timer = setInterval(() => {
      if (seen !== undefined) return;
      seen = check();
      if (seen !== undefined) child.kill('SIGKILL');
    }, 2);
    const limit = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearInterval(timer);
      clearTimeout(limit);
      resolve({ signal, seen });
    });
  });
}
