// One Arrow IPC file written incrementally, batch by batch, under a temporary name; it gets
// its final name only when complete, so a reader never sees a partial shard.
import { closeSync, createWriteStream, fsyncSync, openSync, renameSync, rmSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { WriteStream } from 'node:fs';
import * as A from 'apache-arrow';

export interface BatchColumns {
  rows: number;
  seq: Int32Array;
  pos: Int32Array;
  token: Int32Array;
  /** Label ids by column name, −1 where not applicable (written as null). */
  labels: Map<string, Int32Array>;
  /** Flat row-major values per value column: Float32Array, or float16 bits. */
  values: Map<string, Float32Array | Uint16Array>;
}

export function recordBatch(schema: A.Schema, b: BatchColumns): A.RecordBatch {
  const children = schema.fields.map((f) => {
    if (f.name === 'seq' || f.name === 'pos' || f.name === 'token') {
      return A.makeData({ type: new A.Int32(), length: b.rows, data: b[f.name] });
    }
    const label = b.labels.get(f.name);
    if (label) {
      const valid = new Uint8Array(Math.ceil(b.rows / 8));
      let nulls = 0;
      for (let i = 0; i < b.rows; i++) {
        if ((label[i] as number) >= 0) valid[i >> 3] = (valid[i >> 3] as number) | (1 << (i & 7));
        else nulls++;
      }
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

export class ShardWriter {
  private readonly tmp: string;
  private readonly writer = new A.RecordBatchFileWriter();
  private readonly out: WriteStream;
  private readonly done: Promise<void>;
  rows = 0;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.tmp = `${path}.tmp-${process.pid}`;
    this.out = createWriteStream(this.tmp);
    this.done = new Promise((resolve, reject) => {
      this.out.on('finish', () => resolve());
      this.out.on('error', reject);
    });
    (this.writer as unknown as { toNodeStream(): NodeJS.ReadableStream }).toNodeStream().pipe(this.out);
  }

  /** Bytes handed to the file so far (the footer comes on close). */
  get bytes(): number {
    return this.out.bytesWritten + this.out.writableLength;
  }

  async write(batch: A.RecordBatch): Promise<void> {
    this.writer.write(batch);
    this.rows += batch.numRows;
    // Let the byte queue drain into the file so memory stays bounded.
    while (this.out.writableLength > 0 || this.out.writableNeedDrain) await new Promise((r) => setImmediate(r));
  }

  /** Finishes the file, syncs it and renames it into place; returns its size. */
  async close(): Promise<number> {
    this.writer.finish();
    await this.done;
    const fd = openSync(this.tmp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(this.tmp, this.path);
    return this.out.bytesWritten;
  }

  abort(): void {
    this.out.destroy();
    rmSync(this.tmp, { force: true });
  }
}
