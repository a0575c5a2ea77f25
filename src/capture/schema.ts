// The on-disk format of captured activations (SPEC §6), owned here alone: Arrow IPC files in
// Hive folders site=<site>/layer=<l>/module=<attn|mlp>/part-NNNNN.arrow, one row per token.
import * as A from 'apache-arrow';
import type { ModelConfig } from '../model/config.ts';
import type { Sublayer } from '../model/hooks.ts';

export const FORMAT_VERSION = 1;

export const CAPTURE_SITES = ['resid_pre', 'resid_post', 'branch_in', 'branch_out', 'coeffs'] as const;
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
    for (let i = 0; i < n; i++) fields.push(new A.Field(`stream_${i}`, list(c.dModel, floatType(dtype)), false));
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
  return Array.from({ length: n }, (_, i) => ({ name: `stream_${i}`, width: c.dModel }));
}
