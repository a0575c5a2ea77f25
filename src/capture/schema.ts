// The on-disk format of captured activations (docs/formats.md), owned here alone: Arrow IPC files in
// Hive folders site=<site>/layer=<l>/module=<attn|mlp>/part-NNNNN.arrow, one row per token.
import { createHash } from 'node:crypto';
import * as A from 'apache-arrow';
import type { ModelConfig } from '../model/config.ts';
import { type HookSite, hookName, type Sublayer } from '../model/hooks.ts';
import { streamWidth } from '../model/stream-layout.ts';

export const FORMAT_VERSION = 1;

/** Sites whose columns are one activation per stream; coeffs holds the connection weights. */
export const STREAM_SITES = ['resid_pre', 'resid_post', 'branch_in', 'branch_out'] as const;
export const CAPTURE_SITES = [...STREAM_SITES, 'coeffs'] as const;
export type CaptureSite = (typeof CAPTURE_SITES)[number];
export type CaptureDtype = 'float32' | 'float16';

/** What each site's stream columns hold, written into the manifest for readers. */
export const SITE_SEMANTICS: Record<CaptureSite, string> = {
  resid_pre: 'stream_i = H_i entering the module (attn: blocks.l.hook_resid_pre, mlp: blocks.l.hook_resid_mid)',
  resid_post: 'stream_i = H_i leaving the module (attn: blocks.l.hook_resid_mid, mlp: blocks.l.hook_resid_post)',
  branch_in: "stream_i = A_m[i]·H_i, stream i's contribution to the branch input x = Σ_i stream_i",
  branch_out: 'stream_i = B[i]·T(x), what the branch writes into stream i',
  coeffs: 'read = A_m (n), mixing = A_r row-major (n×n, [s][t] mixes stream s into t), write = B (n): the per-token values',
};

const RESID_HOOK = { resid_pre: { attn: 'resid_pre', mlp: 'resid_mid' }, resid_post: { attn: 'resid_mid', mlp: 'resid_post' } } as const;

/**
 * The hook whose activation a residual site's stream columns are (SITE_SEMANTICS), or stream
 * `stream` of it; null for the sites computed from two hooks (siteSources).
 */
export function siteHook(site: CaptureSite, layer: number, module: Sublayer, stream?: number): string | null {
  if (site !== 'resid_pre' && site !== 'resid_post') return null;
  const kind = RESID_HOOK[site][module];
  return hookName(stream === undefined ? { kind, layer } : { kind, layer, stream });
}

export interface SiteSources {
  /** What the stream columns scale: H [B, T, n, d] (resid_*, branch_in) or T(x) [B, T, d] (branch_out); null for coeffs. */
  tensor: string | null;
  /** The per-stream weight [B, T, n] applied to it: A_m (branch_in), B (branch_out); null for none. A residual model has no such hook: the weight is 1. */
  scale: string | null;
  /** The hooks of the coeffs columns, by column. */
  coeffs: { column: 'read' | 'mixing' | 'write'; hook: string }[];
}

/** The hooks a capture site is computed from (SITE_SEMANTICS). */
export function siteSources(site: CaptureSite, layer: number, module: Sublayer): SiteSources {
  const coeff = (kind: 'read' | 'mixing' | 'write') => hookName({ kind, layer, module });
  switch (site) {
    case 'resid_pre':
    case 'resid_post':
      return { tensor: siteHook(site, layer, module), scale: null, coeffs: [] };
    case 'branch_in':
      return { tensor: siteHook('resid_pre', layer, module), scale: coeff('read'), coeffs: [] };
    case 'branch_out':
      return { tensor: hookName({ kind: 'branch_out', layer, module }), scale: coeff('write'), coeffs: [] };
    case 'coeffs':
      return { tensor: null, scale: null, coeffs: (['read', 'mixing', 'write'] as const).map((column) => ({ column, hook: coeff(column) })) };
  }
}

/**
 * The shard whose columns hold a hook's activation (resid_*), split per stream (branch_in:
 * Σ_i stream_i is blocks.l.hook_attn_in), scaled per stream (branch_out) or as coefficients;
 * null for hooks no site covers (embeddings, ln_final). blocks.l.hook_resid_mid is resid_post of
 * attn and resid_pre of mlp alike: it maps to the former. A stream index is ignored.
 */
export function siteOfHook(h: HookSite): ShardKey | null {
  switch (h.kind) {
    case 'resid_pre':
      return { site: 'resid_pre', layer: h.layer, module: 'attn' };
    case 'resid_mid':
      return { site: 'resid_post', layer: h.layer, module: 'attn' };
    case 'resid_post':
      return { site: 'resid_post', layer: h.layer, module: 'mlp' };
    case 'branch_in':
    case 'branch_out':
      return { site: h.kind, layer: h.layer, module: h.module };
    case 'read':
    case 'write':
    case 'mixing':
      return { site: 'coeffs', layer: h.layer, module: h.module };
    default:
      return null;
  }
}

/**
 * The resid_post shard holding the very tensor of a resid_pre shard, if any: the MLP's input
 * is attention's output (both blocks.l.hook_resid_mid), and nothing runs between
 * blocks.(l−1).hook_resid_post and blocks.l.hook_resid_pre.
 */
export function sameTensorAs(k: ShardKey): ShardKey | undefined {
  if (k.site !== 'resid_pre') return undefined;
  if (k.module === 'mlp') return { site: 'resid_post', layer: k.layer, module: 'attn' };
  return k.layer > 0 ? { site: 'resid_post', layer: k.layer - 1, module: 'mlp' } : undefined;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** sha256 of the config as JSON with every object's keys sorted (recursively): key order cannot change it. */
export function modelHash(c: ModelConfig): string {
  const sorted = (_key: string, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]])) : v;
  return sha256(JSON.stringify(c, sorted));
}

/**
 * Whether a manifest's model_hash is `c`'s. Captures written before the keys were sorted hold
 * sha256(JSON.stringify(config)) in the key order of the process that captured; that hash is
 * accepted too, so that those captures stay readable.
 */
export function isModelHash(c: ModelConfig, hash: string): boolean {
  return hash === modelHash(c) || hash === sha256(JSON.stringify(c));
}

export interface ShardKey {
  site: CaptureSite;
  layer: number;
  module: Sublayer;
}

export function shardDir(k: ShardKey): string {
  return `site=${k.site}/layer=${k.layer}/module=${k.module}`;
}

export function shardName(part: number): string {
  return `part-${String(part).padStart(5, '0')}.arrow`;
}

export interface ShardRecord extends ShardKey {
  path: string;
  part: number;
  rows: number;
  bytes: number;
  /** XXH64 (hex, as `xxhsum -H64` prints it) of the file's bytes, verified by every reader. */
  xxh64?: string;
  /** What captures before XXH64 recorded instead: sha256 (hex), verified likewise. Captures older still have neither. */
  sha256?: string;
  /** Index of the first and one past the last window (sequence) it holds. */
  firstSeq: number;
  endSeq: number;
}

export interface Manifest {
  format_version: number;
  model: ModelConfig;
  model_hash: string;
  /** The model file, as the capture was given it (a path relative to where it ran). */
  checkpoint: string;
  /** The training run, or null for a capture made from a checkpoint alone. */
  run: string | null;
  /** The corpus' description (Corpus.describe()). */
  corpus: Record<string, unknown>;
  /** What reopens the corpus: the spec (synthetic, a path), tokenizer and seed given to it. Absent in older captures. */
  corpus_spec?: string;
  tokenizer?: 'byte' | 'gpt2' | null;
  seed?: number;
  /** The stream each module read at init, forward order; null when the checkpoint does not say. Absent in older captures. */
  init_read_streams?: number[] | null;
  split: 'train' | 'val';
  seq_len: number;
  tokens: number;
  sequences: number;
  dtype: CaptureDtype;
  sites: CaptureSite[];
  layers: number[];
  modules: Sublayer[];
  n_streams: number;
  d_model: number;
  /** Width of one stream column: d_model, or d_model / n_streams for frac. Absent in older captures (= d_model). */
  stream_width?: number;
  labels: { name: string; values: string[] }[];
  site_semantics: Partial<Record<CaptureSite, string>>;
  shards: ShardRecord[];
  command: string[];
}

const floatType = (dtype: CaptureDtype) => (dtype === 'float16' ? new A.Float16() : new A.Float32());
const list = (size: number, item: A.DataType) => new A.FixedSizeList(size, new A.Field('item', item, false));

/** Columns of a shard: seq, pos, token, one nullable int32 per label, then the values. */
export function shardSchema(site: CaptureSite, c: ModelConfig, labels: string[], dtype: CaptureDtype): A.Schema {
  const fields: A.Field[] = [
    new A.Field('seq', new A.Int32(), false),
    new A.Field('pos', new A.Int32(), false),
    new A.Field('token', new A.Int32(), false),
    ...labels.map((l) => new A.Field(labelColumn(l), new A.Int32(), true)),
  ];
  const n = c.nStreams;
  if (site === 'coeffs') {
    fields.push(new A.Field('read', list(n, new A.Float32()), false));
    fields.push(new A.Field('mixing', list(n * n, new A.Float32()), false));
    fields.push(new A.Field('write', list(n, new A.Float32()), false));
  } else {
    for (let i = 0; i < n; i++) fields.push(new A.Field(`stream_${i}`, list(streamWidth(c), floatType(dtype)), false));
  }
  return new A.Schema(fields);
}

/** Label columns are prefixed so that a label named like a fixed column (e.g. `pos`) cannot clash. */
export function labelColumn(label: string): string {
  return `label_${label}`;
}

/** The per-site value columns and their widths. */
export function valueColumns(site: CaptureSite, c: ModelConfig): { name: string; width: number }[] {
  const n = c.nStreams;
  if (site === 'coeffs') return [{ name: 'read', width: n }, { name: 'mixing', width: n * n }, { name: 'write', width: n }];
  return Array.from({ length: n }, (_, i) => ({ name: `stream_${i}`, width: streamWidth(c) }));
}
