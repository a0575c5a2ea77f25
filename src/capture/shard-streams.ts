// The writing half of a capture: one shard stream per (site, layer, module), each a sequence of
// Arrow files closed at the size limit, with the completed shards recorded in the state file that
// --resume reads. The same code runs on the main thread or on the writer thread (writer-thread.ts).
import { join } from 'node:path';
import type { ModelConfig } from '../model/config.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { type CaptureDtype, type ShardKey, type ShardRecord, shardDir, shardName, shardSchema } from './schema.ts';
import { type Acts, type Scratch, siteValues } from './site-values.ts';
import { type BatchColumns, recordBatch, ShardWriter } from './shard-writer.ts';

/** The capture's resume record: the options' fingerprint and every completed shard. */
export interface CaptureState {
  fingerprint: string;
  shards: ShardRecord[];
}

/** What a ShardStreams is made from; plain data, so that it can be sent to a worker thread. */
export interface ShardStreamsInit {
  out: string;
  statePath: string;
  state: CaptureState;
  keys: ShardKey[];
  config: ModelConfig;
  labelNames: string[];
  dtype: CaptureDtype;
  shardBytes: number;
}

/** One forward pass's worth of input to the shard streams: sequences [firstSeq, endSeq). */
export interface CaptureBatch {
  firstSeq: number;
  endSeq: number;
  base: Omit<BatchColumns, 'values'>;
  acts: Acts;
}

/** Where each shard stream goes on from: the end of its last recorded shard, or 0. */
export function resumePoints(keys: readonly ShardKey[], state: CaptureState): number[] {
  return keys.map((k) => state.shards.filter((s) => s.site === k.site && s.layer === k.layer && s.module === k.module).reduce((m, s) => Math.max(m, s.endSeq), 0));
}

interface Stream {
  key: ShardKey;
  schema: ReturnType<typeof shardSchema>;
  part: number;
  firstSeq: number;
  nextSeq: number;
  writer: ShardWriter | undefined;
  scratch: Scratch;
}

export class ShardStreams {
  private readonly streams: Stream[];
  private readonly state: CaptureState;

  constructor(private readonly o: ShardStreamsInit) {
    this.state = { fingerprint: o.state.fingerprint, shards: [...o.state.shards] };
    const next = resumePoints(o.keys, o.state);
    this.streams = o.keys.map((key, i) => ({
      key,
      schema: shardSchema(key.site, o.config, o.labelNames, o.dtype),
      part: o.state.shards.filter((s) => s.site === key.site && s.layer === key.layer && s.module === key.module).length,
      firstSeq: 0,
      nextSeq: next[i] as number,
      writer: undefined,
      scratch: { f32: [], f16: [] },
    }));
  }

  /** Appends the batch to every stream that has not recorded it yet; closes shards at the limit. */
  async write(b: CaptureBatch): Promise<void> {
    for (const s of this.streams) {
      if (s.nextSeq > b.firstSeq) continue;
      const values = siteValues(s.key, b.acts, this.o.config, b.base.rows, this.o.dtype, s.scratch);
      if (!s.writer) {
        s.writer = new ShardWriter(join(this.o.out, shardDir(s.key), shardName(s.part)));
        s.firstSeq = b.firstSeq;
      }
      await s.writer.write(recordBatch(s.schema, { ...b.base, values }));
      s.nextSeq = b.endSeq;
      if (s.writer.bytes >= this.o.shardBytes) await this.close(s);
    }
  }

  /**
   * Closes the open shards, all at once, and records them; returns every shard record, resumed
   * ones included. When a close fails, the others are still awaited and those that succeeded
   * are recorded (a resume keeps them) before the first failure is thrown.
   */
  async finish(): Promise<ShardRecord[]> {
    const open = this.streams.filter((s) => s.writer);
    const closed = await Promise.allSettled(open.map((s) => this.closeShard(s)));
    const records = closed.flatMap((c) => (c.status === 'fulfilled' ? [c.value] : []));
    this.state.shards.push(...records);
    if (records.length > 0) this.saveState();
    const failed = closed.find((c) => c.status === 'rejected');
    if (failed) throw failed.reason;
    return this.state.shards;
  }

  /** Removes the open shards' temporaries; recorded shards stay for --resume. */
  async abort(): Promise<void> {
    for (const s of this.streams) await s.writer?.abort();
  }

  /** A shard closed at the size limit, recorded at once. */
  private async close(s: Stream): Promise<void> {
    this.state.shards.push(await this.closeShard(s));
    this.saveState();
  }

  /** Closes the stream's open shard; its record, for the state file. */
  private async closeShard(s: Stream): Promise<ShardRecord> {
    const w = s.writer as ShardWriter;
    const bytes = await w.close();
    const record = { ...s.key, path: join(shardDir(s.key), shardName(s.part)), part: s.part, rows: w.rows, bytes, xxh64: w.xxh64, firstSeq: s.firstSeq, endSeq: s.nextSeq };
    s.writer = undefined;
    s.part++;
    return record;
  }

  private saveState(): void {
    writeFileAtomic(this.o.statePath, JSON.stringify(this.state), { force: true });
  }
}

/** Where a capture hands each batch after its forward pass: this thread's ShardStreams, or the writer thread's. */
export interface BatchSink {
  /** Takes the batch; may return before it is written. Its arrays are the sink's from then on. */
  write(b: CaptureBatch): Promise<void>;
  /** Writes what is pending, closes the open shards; every shard record, resumed ones included. */
  finish(): Promise<ShardRecord[]>;
  /** Drops what is pending and the open shards' temporaries; recorded shards stay. */
  abort(): Promise<void>;
}

/** Every buffer a batch's activations live in, once each. */
export function actsBuffers(b: CaptureBatch): ArrayBuffer[] {
  return [...new Set([...b.acts.values()].map((a) => a.buffer))].filter((x): x is ArrayBuffer => x instanceof ArrayBuffer);
}

/** The sink that writes each batch before write() returns, reports it written, and gives its activations' buffers back. */
export function inlineSink(streams: ShardStreams, written: (endSeq: number) => void, recycle: (buffers: ArrayBuffer[]) => void): BatchSink {
  return {
    async write(b) {
      await streams.write(b);
      recycle(actsBuffers(b));
      written(b.endSeq);
    },
    finish: () => streams.finish(),
    abort: () => streams.abort(),
  };
}
