// Reads captures back: the manifest, and record batches of one shard stream (site, layer,
// module) streamed from disk without loading a whole shard.
import { existsSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import * as A from 'apache-arrow';
import { ConfigError, shown } from '../errors.ts';
import { decodeFloat16 } from '../io/float16.ts';
import type { Sublayer } from '../model/hooks.ts';
import { type CaptureSite, FORMAT_VERSION, type Manifest, type ShardRecord } from './schema.ts';

export function readManifest(dir: string): Manifest {
  const path = join(dir, 'manifest.json');
  if (!existsSync(dir)) throw new ConfigError(`activations folder ${shown(dir)} does not exist`);
  if (!existsSync(path)) throw new ConfigError(`${dir} has no manifest.json: not a capture, or a capture that did not finish (run it again with --resume)`);
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  } catch {
    throw new ConfigError(`${path} is not valid JSON`);
  }
  if (m.format_version !== FORMAT_VERSION) throw new ConfigError(`${path}: format_version ${shown(m.format_version)} is not supported (expected ${FORMAT_VERSION})`);
  return m;
}

export interface StreamSelector {
  site: CaptureSite;
  layer: number;
  module: Sublayer;
}

export function shardsOf(m: Manifest, sel: StreamSelector): ShardRecord[] {
  const shards = m.shards.filter((s) => s.site === sel.site && s.layer === sel.layer && s.module === sel.module).sort((a, b) => a.part - b.part);
  if (shards.length === 0) {
    throw new ConfigError(`no shards for site ${shown(sel.site)}, layer ${sel.layer}, module ${sel.module} (captured: sites ${m.sites.join(',')}, layers ${m.layers.join(',')})`);
  }
  return shards;
}

/** Record batches of one stream, in row order, read lazily from each shard file. */
export async function* readBatches(dir: string, m: Manifest, sel: StreamSelector): AsyncGenerator<A.RecordBatch> {
  for (const shard of shardsOf(m, sel)) {
    const handle = await open(join(dir, shard.path), 'r');
    try {
      const reader = await A.RecordBatchReader.from(handle);
      for await (const batch of reader) yield batch;
    } finally {
      await handle.close();
    }
  }
}

/** A FixedSizeList column of a batch as one flat float32 array [rows × width]. */
export function floatColumn(batch: A.RecordBatch, name: string): Float32Array {
  const col = batch.getChild(name);
  if (!col) throw new ConfigError(`column ${shown(name)} is not in this capture (columns: ${batch.schema.fields.map((f) => f.name).join(', ')})`);
  const parts: Float32Array[] = [];
  for (const data of col.data) {
    const child = data.children[0] as A.Data;
    const width = (data.type as A.FixedSizeList).listSize;
    const values = child.values as Float32Array | Uint16Array;
    const slice = values.subarray(data.offset * width, (data.offset + data.length) * width);
    parts.push(slice instanceof Uint16Array ? Float32Array.from(slice, decodeFloat16) : Float32Array.from(slice));
  }
  return concatArrays(parts, (n) => new Float32Array(n));
}

/** The parts end to end; a single part is returned as it is, not copied. */
export function concatArrays<T extends Float32Array | Int32Array>(parts: T[], make: (length: number) => T): T {
  if (parts.length === 1) return parts[0] as T;
  const out = make(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** An int32 column (seq, pos, token, a label); null labels read as −1. */
export function intColumn(batch: A.RecordBatch, name: string): Int32Array {
  const col = batch.getChild(name);
  if (!col) throw new ConfigError(`column ${shown(name)} is not in this capture`);
  const out = new Int32Array(col.length);
  for (let i = 0; i < col.length; i++) {
    const v = col.get(i) as number | null;
    out[i] = v === null ? -1 : v;
  }
  return out;
}
