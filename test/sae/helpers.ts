// Synthetic activations with known structure for SAE tests: sparse non-negative combinations
// of known unit directions plus Gaussian noise; a small trained run and capture; the CLI.
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Rng, rngFor } from '../../src/engine/random.ts';
import { runTraining } from '../../src/train/session.ts';
import type { BatchSource } from '../../sae/train.ts';

/** nFeatures random unit directions in R^d, row-major [nFeatures, d]. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'hcprobe.mjs');

export function knownDictionary(d: number, nFeatures: number, seed: number): Float32Array {
  const rng = rngFor(seed, 'dictionary');
  const dict = new Float32Array(nFeatures * d);
  for (let f = 0; f < nFeatures; f++) {
    let s = 0;
    for (let t = 0; t < d; t++) {
      const v = rng.normal();
      dict[f * d + t] = v;
      s += v * v;
    }
    for (let t = 0; t < d; t++) dict[f * d + t] = (dict[f * d + t] as number) / Math.sqrt(s);
  }
  return dict;
}

export interface SparseMix {
  dict: Float32Array;
  d: number;
  /** Features active per row. */
  active: number;
  noise: number;
}

/** rows × d: each row sums `active` distinct features with magnitudes in [0.5, 1.5), plus noise. */
export function sampleMix(mix: SparseMix, rows: number, rng: Rng): Float32Array {
  const { dict, d, active, noise } = mix;
  const n = dict.length / d;
  const x = new Float32Array(rows * d);
  for (let b = 0; b < rows; b++) {
    const chosen = new Set<number>();
    while (chosen.size < active) chosen.add(rng.int(n));
    for (const f of chosen) {
      const c = 0.5 + rng.next();
      for (let t = 0; t < d; t++) x[b * d + t] = (x[b * d + t] as number) + c * (dict[f * d + t] as number);
    }
    for (let t = 0; t < d; t++) x[b * d + t] = (x[b * d + t] as number) + noise * rng.normal();
  }
  return x;
}

export function mixSource(mix: SparseMix, rows: number, seed: number): BatchSource {
  const rng = rngFor(seed, 'mix');
  return { next: async () => sampleMix(mix, rows, rng) };
}

/** For each true direction, the best |cosine| with any row of W [m, d]. */
export function bestCosines(dict: Float32Array, W: Float32Array, d: number): number[] {
  const n = dict.length / d;
  const m = W.length / d;
  const out: number[] = [];
  for (let f = 0; f < n; f++) {
    let best = 0;
    for (let i = 0; i < m; i++) {
      let dot = 0;
      let nw = 0;
      for (let t = 0; t < d; t++) {
        dot += (dict[f * d + t] as number) * (W[i * d + t] as number);
        nw += (W[i * d + t] as number) ** 2;
      }
      best = Math.max(best, nw > 0 ? dot / Math.sqrt(nw) : 0);
    }
    out.push(best);
  }
  return out;
}

/** Runs `hcprobe ARGS` in the repository root as a child process. */
export function cli(args: string[]): SpawnSyncReturns<string> {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
  if (r.error) throw r.error;
  return r;
}

export function cliOk(args: string[]): SpawnSyncReturns<string> {
  const r = cli(args);
  if (r.status !== 0) throw new Error(`hcprobe ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r;
}

/** A fresh temporary directory, removed when the test ends. */
export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcprobe-sae-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A small trained run (2 layers, d 32, 4 streams, 20 steps) and a 2048-token capture of it. */
export async function smallCapture(dir: string): Promise<string> {
  const run = path.join(dir, 'run');
  await runTraining({
    out: run,
    layers: [{ layers: 2, dModel: 32, heads: 2, seqLen: 32, batchSize: 4, steps: 20, logInterval: 10, evalInterval: 10, checkpointInterval: 20, evalBatches: 1, diagBatch: 2, backend: 'wasm', workers: 0 }],
    force: false,
    resume: false,
    version: 'test',
    commandLine: [],
  });
  const acts = path.join(dir, 'acts');
  cliOk(['capture', '--run', run, '--out', acts, '--tokens', '2048', '--backend', 'wasm']);
  return acts;
}
