// Shared by the capture tests: a small run trained in-process, the CLI as a child process,
// shard files read back whole, and the windows a capture takes from a split.
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type * as A from 'apache-arrow';
import { openSourceCorpus, resolveModelSource, tokenizerOf } from '../../probes/load-run.ts';
import type { CaptureOptions } from '../../src/capture/capture.ts';
import { readBatches, type StreamSelector } from '../../src/capture/read.ts';
import type { Manifest } from '../../src/capture/schema.ts';
import { paramsFromCheckpoint, readStreamsOf } from '../../src/model/checkpoint.ts';
import { disposeParams } from '../../src/model/params.ts';
import { runTraining } from '../../src/train/session.ts';
import { BIN, ROOT, tempDir as trainTempDir } from '../train/helpers.ts';

export type { Manifest };

export { BIN, ROOT };

/** 2 layers, d 32, 4 streams (mhc-lite, the default), seq 32: 20 steps train in about 2 s. */
export const SMALL = {
  layers: 2,
  dModel: 32,
  heads: 2,
  seqLen: 32,
  batchSize: 4,
  steps: 20,
  logInterval: 10,
  evalInterval: 10,
  checkpointInterval: 10,
  evalBatches: 1,
  diagBatch: 2,
  backend: 'wasm',
  workers: 0,
};

/** A fresh temporary directory, removed when the test ends. */
export function tempDir(t: { after(fn: () => void): void }, prefix = 'hcprobe-capture-'): string {
  return trainTempDir(t, prefix);
}

/** Trains SMALL (with overrides) into `out`, in this process, silently. */
export async function trainSmall(out: string, overrides: Record<string, string | number | boolean> = {}): Promise<string> {
  await runTraining({ out, layers: [{ ...SMALL, ...overrides }], force: false, resume: false, version: 'test', commandLine: [] });
  return out;
}

/** Runs `hcprobe ARGS` to completion in `cwd`. */
export function cli(args: string[], cwd = ROOT, timeoutMs = 120_000): SpawnSyncReturns<string> {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: timeoutMs });
  if (r.error) throw r.error;
  return r;
}

/** Runs `hcprobe ARGS` and fails with its stderr unless it exits 0. */
export function cliOk(args: string[], cwd = ROOT): SpawnSyncReturns<string> {
  const r = cli(args, cwd);
  if (r.status !== 0) throw new Error(`hcprobe ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r;
}

/** Every record batch of one shard stream, in row order. */
export async function allBatches(dir: string, m: Manifest, sel: StreamSelector): Promise<A.RecordBatch[]> {
  const out: A.RecordBatch[] = [];
  for await (const b of readBatches(dir, m, sel)) out.push(b);
  return out;
}

/** Every file under `dir`, relative path → size, sorted. */
export function listFiles(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out.set(path.relative(dir, path.join(e.parentPath, e.name)), fs.statSync(path.join(e.parentPath, e.name)).size);
  }
  return new Map([...out.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

export const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** What a run fixes in CaptureOptions (model, corpus and how to reopen it, init read streams); its params are freed after the test. */
export function runCaptureOptions(t: { after(fn: () => void): void }, run: string): Pick<CaptureOptions, 'params' | 'config' | 'checkpoint' | 'run' | 'corpus' | 'source' | 'initReadStreams'> {
  const source = resolveModelSource({ run });
  const corpus = openSourceCorpus(source);
  const params = paramsFromCheckpoint(source.file, source.config, source.checkpoint);
  t.after(() => disposeParams(params));
  return {
    params, config: source.config, checkpoint: source.checkpoint, run, corpus,
    source: { corpus: source.corpusSpec, tokenizer: tokenizerOf(corpus), seed: source.seed },
    initReadStreams: readStreamsOf(source.file, source.config, source.checkpoint),
  };
}
