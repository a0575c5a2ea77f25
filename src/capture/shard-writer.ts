// One Arrow IPC file written incrementally, batch by batch, under a temporary name; it gets
// its final name only when complete, so a reader never sees a partial shard. Its checksum
// (XXH64) is taken from the bytes as they are written, for the manifest (readers verify it).
import { closeSync, fdatasync, fsync, mkdirSync, openSync, renameSync, rmSync, writevSync } from 'node:fs';
import { dirname } from 'node:path';
import * as A from 'apache-arrow';
import { type Xxh64, xxh64 } from '../io/xxh64.ts';

export interface BatchColumns {
  rows: number;
  seq: Int32Array;
  pos: Int32Array;
  token: Int32Array;
  /** Label ids by column name, −1 where not applicable (written as null). */
  labels: Map<string, Int32Array>;
  /** Their validity bitmaps (labelValidity), when computed once for several shard streams. */
  validity?: Map<string, Validity>;
  /** Flat row-major values per value column: Float32Array, or float16 bits. */
  values: Map<string, Float32Array | Uint16Array>;
}

export interface Validity {
  valid: Uint8Array;
  nulls: number;
}

/** Arrow's validity bitmap of a label column: bit i set where label[i] ≥ 0 (−1 is null). */
export function validity(label: Int32Array, rows: number): Validity {
  const valid = new Uint8Array(Math.ceil(rows / 8));
  let nulls = 0;
  for (let i = 0; i < rows; i++) {
    if ((label[i] as number) >= 0) valid[i >> 3] = (valid[i >> 3] as number) | (1 << (i & 7));
    else nulls++;
  }
  return { valid, nulls };
}

/** The validity of every label column, to share between the shard streams of one batch. */
export function labelValidity(labels: Map<string, Int32Array>, rows: number): Map<string, Validity> {
  return new Map([...labels].map(([name, label]) => [name, validity(label, rows)]));
}

export function recordBatch(schema: A.Schema, b: BatchColumns): A.RecordBatch {
  const children = schema.fields.map((f) => {
    if (f.name === 'seq' || f.name === 'pos' || f.name === 'token') {
      return A.makeData({ type: new A.Int32(), length: b.rows, data: b[f.name] });
    }
    const label = b.labels.get(f.name);
    if (label) {
      const { valid, nulls } = b.validity?.get(f.name) ?? validity(label, b.rows);
      return A.makeData({ type: new A.Int32(), length: b.rows, data: label, nullBitmap: valid, nullCount: nulls });
    }
    const values = b.values.get(f.name);
    if (!values) throw new Error(`no data for column ${f.name}`);
    const type = f.type as A.FixedSizeList;
    const child = A.makeData({ type: type.children[0]?.type as A.Float, length: values.length, data: values });
    return A.makeData({ type, length: b.rows, nullCount: 0, child });
  });
  return new A.RecordBatch(schema, A.makeData({ type: new A.Struct(schema.fields), length: b.rows, children }));
}

/**
 * The writer's byte sink, written through to a file descriptor at every batch boundary
 * (flush): the byte count is exact there (so shards close at the same rows on every run) and no
 * encoded batch waits in memory for a stream to drain it. Arrow hands over a batch as a few dozen
 * small buffers (headers, padding, each column); they go to the file in one writev per batch
 * rather than one write each. The file is only appended to, so hashing each buffer as it passes
 * gives the checksum of the file without reading it back.
 */
class FileSink extends A.AsyncByteQueue {
  bytes = 0;
  readonly hash: Xxh64 = xxh64();
  private pending: Uint8Array[] = [];

  constructor(private readonly fd: number) {
    super();
  }

  override write(value: Uint8Array): void {
    if (value.byteLength === 0) return;
    this.pending.push(value);
    this.hash.update(value);
    this.bytes += value.byteLength;
  }

  /** Writes what the last batch (or the footer) produced; the buffers must not have changed since. */
  flush(): void {
    let chunks = this.pending;
    this.pending = [];
    while (chunks.length > 0) {
      let done = writevSync(this.fd, chunks);
      // a short write: drop what went out, continue with the rest
      let i = 0;
      while (i < chunks.length && done >= (chunks[i] as Uint8Array).byteLength) done -= (chunks[i++] as Uint8Array).byteLength;
      chunks = chunks.slice(i);
      if (done > 0) chunks[0] = (chunks[0] as Uint8Array).subarray(done);
    }
  }
}

/**
 * Bytes written between two data syncs started in the background. Without them the kernel keeps a
 * shard's pages dirty until close, whose fsync then waits for all of them (~0.2 s per 480 MB here,
 * at the end of a capture); synced as they come, the disk's work overlaps the forward passes and
 * close's fsync has at most this much left to flush. A capture closes all its shards together at
 * the end: 16 MiB each left 55–75 ms of syncing there for 8 shards, 4 MiB 20–30 ms.
 */
const SYNC_EVERY = 4 * 1024 * 1024;

export class ShardWriter {
  private readonly tmp: string;
  private readonly fd: number;
  private readonly sink: FileSink;
  private readonly writer = new A.RecordBatchFileWriter();
  private open = true;
  private digest: string | undefined;
  /** The background data sync in progress (fdatasync on libuv's pool), if any, and the bytes written when it started. */
  private syncing: Promise<void> | undefined;
  private syncedTo = 0;
  /** close() under way or done. */
  private closing: Promise<number> | undefined;
  rows = 0;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.tmp = `${path}.tmp-${process.pid}`;
    this.fd = openSync(this.tmp, 'w');
    this.sink = new FileSink(this.fd);
    this.writer.reset(this.sink);
  }

  /** Bytes in the file so far (the footer comes on close). */
  get bytes(): number {
    return this.sink.bytes;
  }

  async write(batch: A.RecordBatch): Promise<void> {
    this.writer.write(batch);
    this.sink.flush();
    this.rows += batch.numRows;
    if (this.syncing === undefined && this.sink.bytes - this.syncedTo >= SYNC_EVERY) this.startSync();
  }

  /** Finishes the file, syncs it and renames it into place; returns its size. */
  close(): Promise<number> {
    this.closing ??= this.finishFile();
    return this.closing;
  }

  private async finishFile(): Promise<number> {
    this.writer.finish();
    try {
      this.sink.flush();
      await this.syncing; // the fd stays open until the background sync is done with it
      // on libuv's pool, so that the shards a capture closes together sync at once
      await new Promise<void>((resolve, reject) => fsync(this.fd, (e) => (e ? reject(e) : resolve())));
    } finally {
      this.closeFd();
    }
    this.digest = this.sink.hash.hex();
    renameSync(this.tmp, this.path);
    return this.sink.bytes;
  }

  /** The XXH64 (hex) of the closed file's bytes, for its ShardRecord. */
  get xxh64(): string {
    if (this.digest === undefined) throw new Error(`shard ${this.path}: checksum asked before close()`);
    return this.digest;
  }

  /**
   * Removes the temporary file; closes it once a background sync is done with it. A close under
   * way (its sync queued on libuv's pool) is let finish first, so that no sync meets a closed fd.
   */
  async abort(): Promise<void> {
    await this.closing?.catch(() => {});
    rmSync(this.tmp, { force: true });
    await this.syncing?.catch(() => {});
    this.closeFd();
  }

  /** A data sync of what is written so far, in the background; a failure surfaces at close. */
  private startSync(): void {
    this.syncedTo = this.sink.bytes;
    this.syncing = new Promise<void>((resolve, reject) => fdatasync(this.fd, (e) => (e ? reject(e) : resolve())));
    this.syncing.then(() => { this.syncing = undefined; }, () => {});
  }

  private closeFd(): void {
    if (this.open) closeSync(this.fd);
    this.open = false;
  }
}
