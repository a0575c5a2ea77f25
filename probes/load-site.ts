// Loads captured rows of one (site, layer, module) into memory: the streams as [rows, d]
// float32 blocks, plus seq, token and the requested labels; capped at whole sequences.
import { concatArrays, floatColumn, intColumn, readBatches } from '../src/capture/read.ts';
import { labelColumn, type Manifest } from '../src/capture/schema.ts';
import type { Sublayer } from '../src/model/hooks.ts';
import type { StreamSite } from './results-schema.ts';

export interface SiteRows {
  rows: number;
  seq: Int32Array;
  token: Int32Array;
  labels: Map<string, Int32Array>;
}

export interface StreamSiteData extends SiteRows {
  dModel: number;
  /** Stream i's activations [rows, dModel]. */
  streams: Float32Array[];
}

export interface CoefficientData extends SiteRows {
  nStreams: number;
  /** A_m [rows, n], A_r [rows, n, n] ([s][t] mixes s into t), B [rows, n]. */
  read: Float32Array;
  mixing: Float32Array;
  write: Float32Array;
}

/** Rows kept under a token cap: whole sequences only, at least one. */
export function rowCap(m: Manifest, maxTokens: number | undefined): number {
  if (maxTokens === undefined) return Number.POSITIVE_INFINITY;
  return Math.max(1, Math.floor(maxTokens / m.seq_len)) * m.seq_len;
}

async function loadColumns(dir: string, m: Manifest, site: Manifest['sites'][number], layer: number, module: Sublayer, columns: string[], labels: string[], maxTokens?: number) {
  const cap = rowCap(m, maxTokens);
  const chunks = new Map<string, (Float32Array | Int32Array)[]>();
  const push = (k: string, v: Float32Array | Int32Array) => chunks.set(k, [...(chunks.get(k) ?? []), v]);
  let rows = 0;
  for await (const batch of readBatches(dir, m, { site, layer, module })) {
    const take = Math.min(batch.numRows, cap - rows);
    const cut = <T extends Float32Array | Int32Array>(a: T, width: number) => (take === batch.numRows ? a : (a.subarray(0, take * width) as T));
    push('seq', cut(intColumn(batch, 'seq'), 1));
    push('token', cut(intColumn(batch, 'token'), 1));
    for (const l of labels) push(labelColumn(l), cut(intColumn(batch, labelColumn(l)), 1));
    for (const c of columns) {
      const v = floatColumn(batch, c);
      push(c, cut(v, v.length / batch.numRows));
    }
    rows += take;
    if (rows >= cap) break;
  }
  const joined = <T extends Float32Array | Int32Array>(k: string, make: (n: number) => T): T => concatArrays((chunks.get(k) ?? []) as T[], make);
  const base: SiteRows = {
    rows,
    seq: joined('seq', (n) => new Int32Array(n)),
    token: joined('token', (n) => new Int32Array(n)),
    labels: new Map(labels.map((l) => [l, joined(labelColumn(l), (n) => new Int32Array(n))])),
  };
  return { base, float: (c: string) => joined(c, (n) => new Float32Array(n)) };
}

export async function loadStreamSite(dir: string, m: Manifest, site: StreamSite, layer: number, module: Sublayer, labels: string[] = [], maxTokens?: number): Promise<StreamSiteData> {
  const names = Array.from({ length: m.n_streams }, (_, i) => `stream_${i}`);
  const { base, float } = await loadColumns(dir, m, site, layer, module, names, labels, maxTokens);
  return { ...base, dModel: m.stream_width ?? m.d_model, streams: names.map(float) };
}

export async function loadCoefficients(dir: string, m: Manifest, layer: number, module: Sublayer, maxTokens?: number): Promise<CoefficientData> {
  const { base, float } = await loadColumns(dir, m, 'coeffs', layer, module, ['read', 'mixing', 'write'], [], maxTokens);
  return { ...base, nStreams: m.n_streams, read: float('read'), mixing: float('mixing'), write: float('write') };
}
