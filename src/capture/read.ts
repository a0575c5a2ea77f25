// Reads captures back: the manifest, verified against the shard files before any work, and
// record batches of one shard stream (site, layer, module) streamed from disk.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import * as A from 'apache-arrow';
import { ConfigError, shown } from '../errors.ts';
import { decodeFloat16 } from '../io/float16.ts';
import { type Xxh64, xxh64 } from '../io/xxh64.ts';
import type { Sublayer } from '../model/hooks.ts';
import { type CaptureSite, FORMAT_VERSION, type Manifest, type ShardRecord } from './schema.ts';

const DAMAGED = 'the capture is damaged; capture again with --force';

/** manifest.json, with every shard it names checked for presence and size (a stat each). */
export function readManifest(dir: string): Manifest {
  const path = join(dir, 'manifest.json');
  if (!existsSync(dir)) throw new ConfigError(`activations folder ${shown(dir)} does not exist`);
  if (!existsSync(path)) throw new ConfigError(`${dir} has no manifest.json: not a capture, or a capture that did not finish (run it again with --resume)`);
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  } catch (e) {
    throw new ConfigError(`${path}: not valid JSON (${(e as Error).message}); ${DAMAGED}`);
  }
  if (m?.format_version !== FORMAT_VERSION) throw new ConfigError(`${path}: format_version ${shown(m?.format_version)} is not supported (expected ${FORMAT_VERSION})`);
  if (!Array.isArray(m.shards)) throw new ConfigError(`${path}: no list of shards; ${DAMAGED}`);
  checkSizes(m, dir);
  return m;
}

/** The manifest (readManifest) and every shard's checksum verified: what a command opens first. */
export async function openCapture(dir: string): Promise<Manifest> {
  const m = readManifest(dir);
  await verifyCapture(m, dir);
  return m;
}

const verified = new WeakMap<Manifest, Map<string, Promise<void>>>();

/**
 * Every shard against the manifest: present, of the recorded size, then of the recorded checksum
 * (XXH64, or sha256 in earlier captures; the oldest carry none and are checked for size only).
 * Once per manifest and folder: readBatches awaits it, so a damaged shard stops a command before
 * its first batch.
 */
export function verifyCapture(m: Manifest, dir: string): Promise<void> {
  const byDir = verified.get(m) ?? new Map<string, Promise<void>>();
  verified.set(m, byDir);
  const done = byDir.get(dir) ?? verifyShards(m, dir);
  byDir.set(dir, done);
  return done;
}

function checkSizes(m: Manifest, dir: string): void {
  for (const s of m.shards) {
    const file = join(dir, String(s?.path));
    if (typeof s?.path !== 'string' || !existsSync(file)) throw new ConfigError(`shard ${file}, named in the manifest, does not exist: ${DAMAGED}`);
    const size = statSync(file).size;
    if (size !== s.bytes) throw new ConfigError(`shard ${file} is ${size} bytes, the manifest says ${shown(s.bytes)}: ${DAMAGED}`);
  }
}

/** sha256 behind the running-hash interface of xxh64(), for captures made before XXH64. */
function sha256(): Xxh64 {
  const h = createHash('sha256');
  return { update: (bytes) => void h.update(bytes), hex: () => h.digest('hex') };
}

/** The checksum a shard's record carries: XXH64, sha256 in earlier captures, none in the oldest. */
function recordedChecksum(s: ShardRecord): { name: string; value: string; start: () => Xxh64 } | undefined {
  if (s.xxh64 !== undefined) return { name: 'xxh64', value: String(s.xxh64), start: xxh64 };
  if (s.sha256 !== undefined) return { name: 'sha256', value: String(s.sha256), start: sha256 };
  return undefined;
}

/**
 * Bytes read at a time when hashing a shard, into one buffer reused throughout: a read stream's
 * 1 MiB chunks, each newly allocated, took ~1.5× as long.
 */
const HASH_READ_BYTES = 4 << 20;

async function verifyShards(m: Manifest, dir: string): Promise<void> {
  checkSizes(m, dir);
  const buffer = new Uint8Array(HASH_READ_BYTES);
  for (const s of m.shards) {
    const sum = recordedChecksum(s);
    if (sum === undefined) continue;
    const file = join(dir, s.path);
    const hash = sum.start();
    const handle = await open(file, 'r');
    try {
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        hash.update(buffer.subarray(0, bytesRead));
      }
    } finally {
      await handle.close();
    }
    const got = hash.hex();
    if (got !== sum.value) throw new ConfigError(`shard ${file} has ${sum.name} ${got.slice(0, 12)}…, the manifest says ${sum.value.slice(0, 12)}…: its bytes changed since capture; ${DAMAGED}`);
  }
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

/** Record batches of one stream, in row order, read lazily from each shard file once the capture is verified. */
export async function* readBatches(dir: string, m: Manifest, sel: StreamSelector): AsyncGenerator<A.RecordBatch> {
  const shards = shardsOf(m, sel);
  await verifyCapture(m, dir);
  for (const shard of shards) {
    const handle = await open(join(dir, shard.path), 'r');
    try {
      yield* shardBatches(handle, shard, join(dir, shard.path));
    } finally {
      await handle.close();
    }
  }
}

/**
 * A checksummed shard decodes (its bytes are those capture wrote), so a decoding error there is
 * a bug; without a checksum (an older capture) it is most likely damage of the same size.
 */
async function* shardBatches(handle: FileHandle, shard: ShardRecord, file: string): AsyncGenerator<A.RecordBatch> {
  const damaged = (e: unknown) => (recordedChecksum(shard) === undefined ? new ConfigError(`shard ${file} is not a readable Arrow file (${(e as Error).message}): ${DAMAGED}`) : e);
  let batches: AsyncIterator<A.RecordBatch>;
  try {
    batches = (await A.RecordBatchReader.from(handle))[Symbol.asyncIterator]();
  } catch (e) {
    throw damaged(e);
  }
  try {
    for (;;) {
      let next: IteratorResult<A.RecordBatch>;
      try {
        next = await batches.next();
      } catch (e) {
        throw damaged(e);
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    // Closes the reader when the consumer stops early; a reader that failed has nothing to close.
    await batches.return?.().catch(() => undefined);
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
