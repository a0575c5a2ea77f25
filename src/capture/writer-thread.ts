// A capture's shards built and written on a worker thread, while the main thread runs the next
// forward pass: batches go over with their buffers transferred, not copied; at most IN_FLIGHT of
// them wait unwritten, so memory stays flat; the thread's errors are rethrown here as they were.
import { Worker } from 'node:worker_threads';
import { ConfigError } from '../errors.ts';
import type { ShardRecord } from './schema.ts';
import type { BatchSink, CaptureBatch, ShardStreamsInit } from './shard-streams.ts';

/**
 * Batches sent but not yet written. One overlaps a batch's writing with the next forward pass;
 * with two, a slow batch on either thread does not stall the other (on the tiny preset the
 * writer's time per batch is about the forward's). Each holds a batch of activations in memory
 * (2.5 MB for tiny at batch 8).
 */
const IN_FLIGHT = 2;

export type ToWriter = { kind: 'batch'; batch: CaptureBatch } | { kind: 'finish' } | { kind: 'abort' };

export type FromWriter =
  | { kind: 'written'; endSeq: number }
  | { kind: 'finished'; shards: ShardRecord[] }
  | { kind: 'aborted' }
  | { kind: 'error'; error: ErrorData };

/** An error as it crosses threads: structured cloning keeps neither ConfigError's class nor an fs error's code. */
export interface ErrorData {
  name: string;
  message: string;
  stack: string | undefined;
  props: Record<string, string | number>;
}

const ERRNO_PROPS = ['code', 'errno', 'syscall', 'path', 'dest'] as const;

export function errorData(e: unknown): ErrorData {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e), stack: undefined, props: {} };
  const props: Record<string, string | number> = {};
  for (const k of ERRNO_PROPS) {
    const v = (e as unknown as Record<string, unknown>)[k];
    if (typeof v === 'string' || typeof v === 'number') props[k] = v;
  }
  return { name: e.name, message: e.message, stack: e.stack, props };
}

/** The error the thread met, as this thread would have thrown it: a ConfigError stays one (exit 2). */
export function revive(d: ErrorData): Error {
  let e: Error;
  if (d.name === 'ConfigError') e = new ConfigError(d.message);
  else {
    e = Object.assign(new Error(d.message), d.props);
    e.name = d.name;
  }
  if (d.stack !== undefined) e.stack = d.stack;
  return e;
}

/** Every buffer the batch's arrays live in, once each: the batch is the thread's after sending. */
function buffersOf(b: CaptureBatch): ArrayBuffer[] {
  const { seq, pos, token, labels, validity } = b.base;
  const arrays: ArrayBufferView[] = [seq, pos, token, ...labels.values(), ...[...(validity?.values() ?? [])].map((v) => v.valid), ...b.acts.values()];
  return [...new Set(arrays.map((a) => a.buffer))].filter((x): x is ArrayBuffer => x instanceof ArrayBuffer);
}

export class WriterThread implements BatchSink {
  private readonly thread: Worker;
  private inFlight = 0;
  private failure: { error: unknown } | undefined;
  private shards: ShardRecord[] | undefined;
  private ended = false;
  private wake: () => void = () => {};

  /**
   * Starts the thread and returns at once: it loads while the first forward pass runs, and
   * takes the batches sent meanwhile when ready. `written` is called, in order, with the end of
   * each batch once its bytes are in the shard files.
   */
  constructor(init: ShardStreamsInit, written: (endSeq: number) => void) {
    this.thread = new Worker(new URL('./writer-thread-boot.mjs', import.meta.url), { workerData: init });
    this.thread.on('message', (m: FromWriter) => {
      if (m.kind === 'written') {
        this.inFlight--;
        try {
          written(m.endSeq);
        } catch (e) {
          this.fail(e);
        }
      } else if (m.kind === 'finished') this.shards = m.shards;
      else if (m.kind === 'aborted') this.ended = true;
      else this.fail(revive(m.error));
      this.wake();
    });
    this.thread.on('error', (e) => {
      this.fail(e);
      this.wake();
    });
    this.thread.on('exit', (code) => {
      this.ended = true;
      if (this.shards === undefined) this.fail(new Error(`the capture's writer thread exited with code ${code} before it finished`));
      this.wake();
    });
  }

  /** Sends the batch, its buffers transferred (none may be used here after), once fewer than IN_FLIGHT wait. */
  async write(b: CaptureBatch): Promise<void> {
    await this.until(() => this.inFlight < IN_FLIGHT);
    this.inFlight++;
    this.thread.postMessage({ kind: 'batch', batch: b } satisfies ToWriter, buffersOf(b));
  }

  async finish(): Promise<ShardRecord[]> {
    this.thread.postMessage({ kind: 'finish' } satisfies ToWriter);
    await this.until(() => this.shards !== undefined);
    await this.thread.terminate();
    return this.shards as ShardRecord[];
  }

  /** Lets the thread write what it was sent, remove its temporaries, and stops it; never throws. */
  async abort(): Promise<void> {
    if (!this.ended) this.thread.postMessage({ kind: 'abort' } satisfies ToWriter);
    while (!this.ended) await new Promise<void>((r) => { this.wake = r; });
    await this.thread.terminate();
  }

  private fail(e: unknown): void {
    this.failure ??= { error: e };
  }

  /** Waits for `ready`, rethrowing the first failure: the thread's, or the `written` callback's. */
  private async until(ready: () => boolean): Promise<void> {
    for (;;) {
      if (this.failure) throw this.failure.error;
      if (ready()) return;
      await new Promise<void>((r) => { this.wake = r; });
    }
  }
}
