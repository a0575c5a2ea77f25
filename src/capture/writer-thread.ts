// A capture's shards built and written on a worker thread, while the main thread runs the next
// forward pass: batches go over with their buffers transferred, not copied; a bounded number of
// bytes waits unwritten, so memory stays flat; the thread's errors are rethrown here as they were.
import { Worker } from 'node:worker_threads';
import { ConfigError } from '../errors.ts';
import type { ShardRecord } from './schema.ts';
import { actsBuffers, type BatchSink, type CaptureBatch, type ShardStreamsInit } from './shard-streams.ts';

/**
 * How far the forward may run ahead of the writing: batches sent but not yet written, up to
 * RUN_AHEAD_BYTES of them, and two in any case. The bytes let the forward go on while the
 * thread starts (its modules load in ~0.25 s, dozens of small batches' worth) and absorb either
 * thread's slow batches; the two keep writing overlapped with the forward when one batch alone
 * is larger than the bound. Memory stays within max(RUN_AHEAD_BYTES, two batches).
 */
export const RUN_AHEAD_BYTES = 64 * 1024 * 1024;
const MIN_IN_FLIGHT = 2;

/** The thread's workerData: what its shard streams are made from, and the flag abort() raises (an Int32 on shared memory). */
export interface WriterThreadData {
  init: ShardStreamsInit;
  abortFlag: Int32Array;
}

export type ToWriter = { kind: 'batch'; batch: CaptureBatch } | { kind: 'finish' } | { kind: 'abort' };

export type FromWriter =
  | { kind: 'written'; endSeq: number; buffers: ArrayBuffer[] }
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
  const arrays: ArrayBufferView[] = [seq, pos, token, ...labels.values(), ...[...(validity?.values() ?? [])].map((v) => v.valid)];
  const base = arrays.map((a) => a.buffer).filter((x): x is ArrayBuffer => x instanceof ArrayBuffer);
  return [...new Set([...base, ...actsBuffers(b)])];
}

export class WriterThread implements BatchSink {
  private readonly thread: Worker;
  private readonly abortFlag = new Int32Array(new SharedArrayBuffer(4));
  /** Sizes of the batches sent and not yet written, oldest first. */
  private readonly inFlight: number[] = [];
  private inFlightBytes = 0;
  private failure: { error: unknown } | undefined;
  private shards: ShardRecord[] | undefined;
  private ended = false;
  private wake: () => void = () => {};

  /**
   * Starts the thread and returns at once: it loads while the first forward pass runs, and
   * takes the batches sent meanwhile when ready. `written` is called, in order, with the end of
   * each batch once its bytes are in the shard files, after `recycle` got its activations' buffers back.
   */
  constructor(init: ShardStreamsInit, written: (endSeq: number) => void, recycle: (buffers: ArrayBuffer[]) => void) {
    this.thread = new Worker(new URL('./writer-thread-boot.mjs', import.meta.url), { workerData: { init, abortFlag: this.abortFlag } satisfies WriterThreadData });
    this.thread.on('message', (m: FromWriter) => {
      if (m.kind === 'written') {
        this.inFlightBytes -= this.inFlight.shift() ?? 0;
        recycle(m.buffers);
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

  /** Sends the batch, its buffers transferred (none may be used here after), once the run-ahead bound allows. */
  async write(b: CaptureBatch): Promise<void> {
    const buffers = buffersOf(b);
    const bytes = buffers.reduce((sum, x) => sum + x.byteLength, 0);
    await this.until(() => this.inFlight.length < MIN_IN_FLIGHT || this.inFlightBytes + bytes <= RUN_AHEAD_BYTES);
    this.inFlight.push(bytes);
    this.inFlightBytes += bytes;
    this.thread.postMessage({ kind: 'batch', batch: b } satisfies ToWriter, buffers);
  }

  async finish(): Promise<ShardRecord[]> {
    this.thread.postMessage({ kind: 'finish' } satisfies ToWriter);
    await this.until(() => this.shards !== undefined);
    await this.thread.terminate();
    return this.shards as ShardRecord[];
  }

  /** Lets the thread finish the batch it is writing, drop those waiting, remove its temporaries; stops it; never throws. */
  async abort(): Promise<void> {
    Atomics.store(this.abortFlag, 0, 1);
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
