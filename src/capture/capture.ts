// Captures per-stream activations and per-token HC coefficients to Arrow shards, streaming
// batch by batch with bounded memory; completed shards are recorded so --resume skips them.
// The shards are built and written on a worker thread while the next batch's forward runs.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as A from 'apache-arrow';
import { readInto } from '../engine/read-into.ts';
import { tf } from '../engine/tf.ts';
import { ConfigError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { sequentialWindows, type Window } from '../data/batches.ts';
import type { Corpus } from '../data/corpus.ts';
import type { ModelConfig } from '../model/config.ts';
import type { Sublayer } from '../model/hooks.ts';
import type { Params } from '../model/params.ts';
import { cacheActivations } from '../model/run-with-cache.ts';
import { streamWidth } from '../model/stream-layout.ts';
import { ArrayPool } from './array-pool.ts';
import { checkSites } from './kind-sites.ts';
import {
  type CaptureDtype, type CaptureSite, FORMAT_VERSION, type Manifest, modelHash, SITE_SEMANTICS, type ShardKey, type ShardRecord, labelColumn,
} from './schema.ts';
import { type BatchSink, type CaptureState, inlineSink, resumePoints, ShardStreams } from './shard-streams.ts';
import { type Acts, neededHooks } from './site-values.ts';
import { type BatchColumns, labelValidity } from './shard-writer.ts';
import { RUN_AHEAD_BYTES, WriterThread } from './writer-thread.ts';

export interface CaptureOptions {
  params: Params;
  config: ModelConfig;
  checkpoint: string;
  run: string | null;
  corpus: Corpus;
  /** How to reopen the corpus, recorded in the manifest: its spec, tokenizer option and seed. */
  source?: { corpus: string; tokenizer: 'byte' | 'gpt2' | null; seed: number };
  /** The stream each module read at init (checkpoint metadata `read_streams`), when known. */
  initReadStreams?: number[] | undefined;
  split: 'train' | 'val';
  tokens: number;
  sites: CaptureSite[];
  layers: number[];
  dtype: CaptureDtype;
  batch: number;
  shardBytes: number;
  out: string;
  resume: boolean;
  command: string[];
  /**
   * Build and write the shards on a worker thread, overlapped with the next batch's forward
   * pass (default); false writes each batch on this thread before the next forward. The bytes
   * are the same either way, so it is no part of the fingerprint.
   */
  writerThread?: boolean;
  /**
   * A forward that returns hook values itself (the WebGPU engine's, train/engine-forward.ts) for
   * batches of `batch` sequences; batches it does not cover (a site it does not keep) run through
   * tfjs (cacheActivations). The values are the same either way, so it is no part of the fingerprint.
   */
  forward?: HookedForward;
}

export interface HookedForward {
  /** Sequences per call; shorter batches are padded and the padding dropped. */
  batch: number;
  /** Hook values in runWithCache's layouts for B·T ids, or undefined when a name is not covered. */
  hookValues(ids: Int32Array, names: readonly string[]): Promise<Map<string, Float32Array> | undefined>;
}

const STATE_FILE = '.capture-state.json';
const MODULES: Sublayer[] = ['attn', 'mlp'];

/** Everything that decides the bytes of the shards; a resume must match it. */
function fingerprint(o: CaptureOptions): string {
  const { params: _p, resume: _r, command: _c, writerThread: _w, forward: _f, corpus, ...rest } = o;
  return createHash('sha256').update(JSON.stringify({ ...rest, corpus: corpus.describe() })).digest('hex');
}

export async function capture(o: CaptureOptions, onProgress: (done: number, total: number) => void = () => {}): Promise<Manifest> {
  const c = o.config;
  const seqLen = c.blockSize;
  const split = o.split === 'val' ? o.corpus.val : o.corpus.train;
  const windows = [...sequentialWindows(split, seqLen, o.tokens)];
  if (windows.length === 0) throw new ConfigError(`--tokens ${o.tokens} is fewer than one sequence of ${seqLen} tokens`);
  const labelNames = o.corpus.labels.map((l) => l.name);
  checkSites(o.sites, c);
  const keys: ShardKey[] = o.sites.flatMap((site) => o.layers.flatMap((layer) => MODULES.map((module) => ({ site, layer, module }))));
  const fp = fingerprint(o);
  const statePath = join(o.out, STATE_FILE);
  let state: CaptureState = { fingerprint: fp, shards: [] };
  if (o.resume && existsSync(statePath)) {
    state = JSON.parse(readFileSync(statePath, 'utf8')) as CaptureState;
    if (state.fingerprint !== fp) throw new ConfigError(`--resume: ${o.out} was captured with other options; run without --resume and with --force to start over`);
  }
  removeTemps(o.out);
  const start = Math.min(...resumePoints(keys, state));
  const hookNames = neededHooks(o.sites, o.layers, c);
  const threaded = o.writerThread !== false;
  const init = { out: o.out, statePath, state, keys, config: c, labelNames, dtype: o.dtype, shardBytes: o.shardBytes };
  const written = (endSeq: number) => onProgress(endSeq, windows.length);
  const pool = new ArrayPool(RUN_AHEAD_BYTES);
  const recycle = (buffers: ArrayBuffer[]) => pool.give(buffers);
  const sink: BatchSink = threaded ? new WriterThread(init, written, recycle) : inlineSink(new ShardStreams(init), written, recycle);
  let shards: ShardRecord[];
  let wroteTokens = false;
  try {
    for (let b0 = start; b0 < windows.length; b0 += o.batch) {
      const batch = windows.slice(b0, b0 + o.batch);
      // The writer thread takes the arrays' buffers: they must be this capture's own.
      const acts = (o.forward ? await forwardHooked(o.forward, batch, hookNames) : undefined) ?? runHooked(o.params, c, batch, hookNames, pool);
      await sink.write({ firstSeq: b0, endSeq: b0 + batch.length, base: baseColumns(batch, b0, labelNames), acts });
    }
    const finishing = sink.finish();
    finishing.catch(() => {}); // awaited below, unless writing tokens.arrow throws first
    writeTokensFile(o); // while the shards close
    wroteTokens = true;
    shards = await finishing;
  } catch (e) {
    await sink.abort();
    // A failed capture leaves no tokens.arrow, however far the writing had got when it failed.
    if (wroteTokens) rmSync(join(o.out, 'tokens.arrow'), { force: true });
    throw e;
  }
  const manifest: Manifest = {
    format_version: FORMAT_VERSION,
    model: c,
    model_hash: modelHash(c),
    checkpoint: o.checkpoint,
    run: o.run,
    corpus: o.corpus.describe(),
    ...(o.source ? { corpus_spec: o.source.corpus, tokenizer: o.source.tokenizer, seed: o.source.seed } : {}),
    init_read_streams: o.initReadStreams ?? null,
    split: o.split,
    seq_len: seqLen,
    tokens: windows.length * seqLen,
    sequences: windows.length,
    dtype: o.dtype,
    sites: o.sites,
    layers: o.layers,
    modules: MODULES,
    n_streams: c.nStreams,
    d_model: c.dModel,
    stream_width: streamWidth(c),
    labels: o.corpus.labels,
    site_semantics: Object.fromEntries(o.sites.map((s) => [s, SITE_SEMANTICS[s]])),
    shards: [...shards].sort((a, b) => a.path.localeCompare(b.path)),
    command: o.command,
  };
  writeFileAtomic(join(o.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { force: true });
  rmSync(statePath, { force: true });
  return manifest;
}

/** Shard temps (`.tmp-<pid>`) and writeFileAtomic's (`.tmp-<pid>-<hex>`) left by a killed capture. */
function removeTemps(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && /\.tmp-\d+(-[0-9a-f]+)?$/.test(e.name)) rmSync(join(e.parentPath, e.name), { force: true });
  }
}

/** A batch through a HookedForward, padded to its batch with the first window; undefined when it does not cover the names. */
async function forwardHooked(f: HookedForward, batch: Window[], names: Set<string>): Promise<Acts | undefined> {
  if (batch.length > f.batch) return undefined;
  const T = batch[0]?.tokens.length ?? 0;
  const ids = new Int32Array(f.batch * T);
  for (let i = 0; i < f.batch; i++) ids.set((batch[i] ?? batch[0] as Window).tokens, i * T);
  const values = await f.hookValues(ids, [...names]);
  if (!values) return undefined;
  return new Map([...values].map(([name, x]) => [name, batch.length === f.batch ? x : x.slice(0, (x.length / f.batch) * batch.length)]));
}

/** The batch's activations at `names`, each read into an array of the pool's. */
function runHooked(p: Params, c: ModelConfig, batch: Window[], names: Set<string>, pool: ArrayPool): Acts {
  const T = c.blockSize;
  const ids = new Int32Array(batch.length * T);
  batch.forEach((w, i) => ids.set(w.tokens, i * T));
  const tokens = tf.tensor2d(ids, [batch.length, T], 'int32');
  const cache = cacheActivations(p, c, tokens, names);
  try {
    return new Map([...cache].map(([name, x]) => [name, readInto(x, pool.take(x.size))]));
  } finally {
    for (const x of cache.values()) x.dispose();
    tokens.dispose();
  }
}

function baseColumns(batch: Window[], firstSeq: number, labelNames: string[]): Omit<BatchColumns, 'values'> {
  const T = batch[0]?.tokens.length ?? 0;
  const rows = batch.length * T;
  const seq = new Int32Array(rows);
  const pos = new Int32Array(rows);
  const token = new Int32Array(rows);
  const labels = new Map(labelNames.map((l) => [labelColumn(l), new Int32Array(rows)]));
  batch.forEach((w, i) => {
    for (let t = 0; t < T; t++) {
      seq[i * T + t] = firstSeq + i;
      pos[i * T + t] = t;
    }
    token.set(w.tokens, i * T);
    for (const l of labelNames) (labels.get(labelColumn(l)) as Int32Array).set(w.labels.get(l) as Int32Array, i * T);
  });
  return { rows, seq, pos, token, labels, validity: labelValidity(labels, rows) };
}

function writeTokensFile(o: CaptureOptions): void {
  const V = o.config.vocabSize;
  const tok = o.corpus.tokenizer;
  const text = Array.from({ length: V }, (_, id) => (id < tok.vocabSize ? tok.tokenText(id) : ''));
  const table = A.tableFromArrays({ id: Int32Array.from({ length: V }, (_, i) => i), text });
  writeFileAtomic(join(o.out, 'tokens.arrow'), A.tableToIPC(table, 'file'), { force: true });
}
