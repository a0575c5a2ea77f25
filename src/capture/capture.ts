// Captures per-stream activations and per-token HC coefficients to Arrow shards, streaming
// batch by batch with bounded memory; completed shards are recorded so --resume skips them.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as A from 'apache-arrow';
import { tf } from '../engine/tf.ts';
import { ConfigError, shown } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { sequentialWindows, type Window } from '../data/batches.ts';
import type { Corpus } from '../data/corpus.ts';
import type { ModelConfig } from '../model/config.ts';
import { type HookFn, hookName, type Sublayer } from '../model/hooks.ts';
import type { Params } from '../model/params.ts';
import { forward } from '../model/transformer.ts';
import { toFloat16Array } from '../io/float16.ts';
import {
  type CaptureDtype, type CaptureSite, FORMAT_VERSION, type Manifest, SITE_SEMANTICS, type ShardKey,
  type ShardRecord, labelColumn, shardDir, shardName, shardSchema, valueColumns,
} from './schema.ts';
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
  const hookNames = neededHooks(o, c);
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
    model_hash: createHash('sha256').update(JSON.stringify(c)).digest('hex'),
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
  state.shards.push({ ...s.key, path: join(shardDir(s.key), shardName(s.part)), part: s.part, rows: w.rows, bytes, firstSeq: s.firstSeq, endSeq: s.nextSeq });
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

/** Hook sites that the requested capture sites read. */
function neededHooks(o: CaptureOptions, c: ModelConfig): Set<string> {
  const names = new Set<string>();
  const coeffs = c.connection.kind !== 'residual';
  for (const layer of o.layers) {
    for (const module of MODULES) {
      const pre = hookName(module === 'attn' ? { kind: 'resid_pre', layer } : { kind: 'resid_mid', layer });
      const post = hookName(module === 'attn' ? { kind: 'resid_mid', layer } : { kind: 'resid_post', layer });
      for (const site of o.sites) {
        if (site === 'resid_pre' || site === 'branch_in') names.add(pre);
        if (site === 'resid_post') names.add(post);
        if (site === 'branch_out') names.add(hookName({ kind: 'branch_out', layer, module }));
        if (coeffs && (site === 'coeffs' || site === 'branch_in')) names.add(hookName({ kind: 'read', layer, module }));
        if (coeffs && (site === 'coeffs' || site === 'branch_out')) names.add(hookName({ kind: 'write', layer, module }));
        if (coeffs && site === 'coeffs') names.add(hookName({ kind: 'mixing', layer, module }));
      }
    }
  }
  return names;
}

type Acts = Map<string, Float32Array>;

function runHooked(p: Params, c: ModelConfig, batch: Window[], names: Set<string>): Acts {
  const acts: Acts = new Map();
  const hooks = new Map<string, HookFn>();
  for (const name of names) hooks.set(name, (x) => void acts.set(name, x.dataSync() as Float32Array));
  const T = c.blockSize;
  const ids = new Int32Array(batch.length * T);
  batch.forEach((w, i) => ids.set(w.tokens, i * T));
  tf.tidy(() => {
    forward(p, c, tf.tensor2d(ids, [batch.length, T], 'int32'), { hooks });
  });
  return acts;
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

/**
 * Per-stream output buffers, reused from batch to batch: ShardWriter writes a batch's bytes to
 * the file before write() returns, so the next batch may overwrite them. Saves allocating and
 * collecting rows × n × d floats per batch and site.
 */
interface Scratch {
  f32: Float32Array[];
  f16: Uint16Array[];
}

function reuse<T extends Float32Array | Uint16Array>(list: T[], i: number, length: number, make: (n: number) => T): T {
  const have = list[i];
  if (have && have.length >= length) return have.subarray(0, length) as T;
  const made = make(length);
  list[i] = made;
  return made;
}

/** Value columns of one shard key from the hooked activations (see SITE_SEMANTICS). */
function siteValues(k: ShardKey, acts: Acts, c: ModelConfig, rows: number, dtype: CaptureDtype, scratch: Scratch): Map<string, Float32Array | Uint16Array> {
  const n = c.nStreams;
  const d = c.dModel;
  const { layer, module } = k;
  const get = (name: string) => acts.get(name) as Float32Array;
  const coeff = (kind: 'read' | 'write' | 'mixing', width: number) =>
    c.connection.kind === 'residual' ? new Float32Array(rows * width).fill(1) : get(hookName({ kind, layer, module }));
  const out = new Map<string, Float32Array | Uint16Array>();
  if (k.site === 'coeffs') {
    // Each batch's hooked coefficients are a fresh array of their own: written as they are.
    for (const { name, width } of valueColumns('coeffs', c)) out.set(name, coeff(name as 'read', width));
    return out;
  }
  const pre = hookName(module === 'attn' ? { kind: 'resid_pre', layer } : { kind: 'resid_mid', layer });
  const post = hookName(module === 'attn' ? { kind: 'resid_mid', layer } : { kind: 'resid_post', layer });
  const streams = Array.from({ length: n }, (_, i) => reuse(scratch.f32, i, rows * d, (m) => new Float32Array(m)));
  if (k.site === 'branch_out') {
    const y = get(hookName({ kind: 'branch_out', layer, module }));
    const write = coeff('write', n);
    for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) {
      const w = write[r * n + i] as number;
      const s = streams[i] as Float32Array;
      for (let j = 0; j < d; j++) s[r * d + j] = w * (y[r * d + j] as number);
    }
  } else {
    const H = get(k.site === 'resid_post' ? post : pre);
    const read = k.site === 'branch_in' ? coeff('read', n) : undefined;
    for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) {
      const scale = read ? (read[r * n + i] as number) : 1;
      const s = streams[i] as Float32Array;
      const off = (r * n + i) * d;
      for (let j = 0; j < d; j++) s[r * d + j] = scale * (H[off + j] as number);
    }
  }
  streams.forEach((s, i) => out.set(`stream_${i}`, dtype === 'float16' ? toFloat16Array(s, reuse(scratch.f16, i, s.length, (m) => new Uint16Array(m))) : s));
  return out;
}

function writeTokensFile(o: CaptureOptions): void {
  const V = o.config.vocabSize;
  const tok = o.corpus.tokenizer;
  const text = Array.from({ length: V }, (_, id) => (id < tok.vocabSize ? tok.tokenText(id) : ''));
  const table = A.tableFromArrays({ id: Int32Array.from({ length: V }, (_, i) => i), text });
  writeFileAtomic(join(o.out, 'tokens.arrow'), A.tableToIPC(table, 'file'), { force: true });
}

export function parseSites(value: string): CaptureSite[] {
  const all = ['resid_pre', 'resid_post', 'branch_in', 'branch_out', 'coeffs'];
  return value.split(',').map((s) => {
    const v = s.trim();
    if (!all.includes(v)) throw new ConfigError(`--sites: unknown site ${shown(v)} (expected ${all.join(', ')})`);
    return v as CaptureSite;
  });
}
