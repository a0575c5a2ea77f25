// Captures per-stream activations and per-token HC coefficients to Arrow shards, streaming
// batch by batch with bounded memory; completed shards are recorded so --resume skips them.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as A from 'apache-arrow';
import { tf } from '../engine/tf.ts';
import { ConfigError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { sequentialWindows, type Window } from '../data/batches.ts';
import type { Corpus } from '../data/corpus.ts';
import type { ModelConfig } from '../model/config.ts';
import type { Sublayer } from '../model/hooks.ts';
import type { Params } from '../model/params.ts';
import { disposeCachedRun, runWithCache } from '../model/run-with-cache.ts';
import { streamWidth } from '../model/stream-layout.ts';
import { checkSites } from './kind-sites.ts';
import {
  type CaptureDtype, type CaptureSite, FORMAT_VERSION, type Manifest, modelHash, SITE_SEMANTICS,
  type ShardKey, type ShardRecord, labelColumn, shardDir, shardName, shardSchema,
} from './schema.ts';
import { type Acts, neededHooks, type Scratch, siteValues } from './site-values.ts';
import { type BatchColumns, labelValidity, recordBatch, ShardWriter } from './shard-writer.ts';

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
}

const STATE_FILE = '.capture-state.json';
const MODULES: Sublayer[] = ['attn', 'mlp'];

interface State {
  fingerprint: string;
  shards: ShardRecord[];
}

/** Everything that decides the bytes of the shards; a resume must match it. */
function fingerprint(o: CaptureOptions): string {
  const { params: _p, resume: _r, command: _c, corpus, ...rest } = o;
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
  let state: State = { fingerprint: fp, shards: [] };
  if (o.resume && existsSync(statePath)) {
    state = JSON.parse(readFileSync(statePath, 'utf8')) as State;
    if (state.fingerprint !== fp) throw new ConfigError(`--resume: ${o.out} was captured with other options; run without --resume and with --force to start over`);
  }
  removeTemps(o.out);
  const streams = keys.map((key) => {
    const done = state.shards.filter((s) => s.site === key.site && s.layer === key.layer && s.module === key.module);
    return { key, schema: shardSchema(key.site, c, labelNames, o.dtype), part: done.length, nextSeq: done.reduce((m, s) => Math.max(m, s.endSeq), 0), writer: undefined as ShardWriter | undefined, firstSeq: 0, scratch: { f32: [], f16: [] } as Scratch };
  });
  const start = Math.min(...streams.map((s) => s.nextSeq));
  const hookNames = neededHooks(o.sites, o.layers, c);
  try {
    for (let b0 = start; b0 < windows.length; b0 += o.batch) {
      const batch = windows.slice(b0, b0 + o.batch);
      const acts = runHooked(o.params, c, batch, hookNames);
      const base = baseColumns(batch, b0, labelNames);
      for (const s of streams) {
        if (s.nextSeq > b0) continue;
        const values = siteValues(s.key, acts, c, base.rows, o.dtype, s.scratch);
        if (!s.writer) {
          s.writer = new ShardWriter(join(o.out, shardDir(s.key), shardName(s.part)));
          s.firstSeq = b0;
        }
        await s.writer.write(recordBatch(s.schema, { ...base, values }));
        s.nextSeq = b0 + batch.length;
        if (s.writer.bytes >= o.shardBytes) await closeShard(s, state, statePath);
      }
      onProgress(Math.min(b0 + o.batch, windows.length), windows.length);
    }
    for (const s of streams) if (s.writer) await closeShard(s, state, statePath);
  } catch (e) {
    for (const s of streams) s.writer?.abort();
    throw e;
  }
  writeTokensFile(o);
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
    shards: [...state.shards].sort((a, b) => a.path.localeCompare(b.path)),
    command: o.command,
  };
  writeFileAtomic(join(o.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { force: true });
  rmSync(statePath, { force: true });
  return manifest;
}

interface Stream {
  key: ShardKey;
  part: number;
  firstSeq: number;
  nextSeq: number;
  writer: ShardWriter | undefined;
  scratch: Scratch;
}

async function closeShard(s: Stream, state: State, statePath: string): Promise<void> {
  const w = s.writer as ShardWriter;
  const bytes = await w.close();
  state.shards.push({ ...s.key, path: join(shardDir(s.key), shardName(s.part)), part: s.part, rows: w.rows, bytes, sha256: w.sha256, firstSeq: s.firstSeq, endSeq: s.nextSeq });
  writeFileAtomic(statePath, JSON.stringify(state), { force: true });
  s.writer = undefined;
  s.part++;
}

/** Shard temps (`.tmp-<pid>`) and writeFileAtomic's (`.tmp-<pid>-<hex>`) left by a killed capture. */
function removeTemps(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && /\.tmp-\d+(-[0-9a-f]+)?$/.test(e.name)) rmSync(join(e.parentPath, e.name), { force: true });
  }
}

function runHooked(p: Params, c: ModelConfig, batch: Window[], names: Set<string>): Acts {
  const T = c.blockSize;
  const ids = new Int32Array(batch.length * T);
  batch.forEach((w, i) => ids.set(w.tokens, i * T));
  const tokens = tf.tensor2d(ids, [batch.length, T], 'int32');
  const run = runWithCache(p, c, tokens, names);
  try {
    return new Map([...run.cache].map(([name, x]) => [name, x.dataSync() as Float32Array]));
  } finally {
    disposeCachedRun(run);
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
