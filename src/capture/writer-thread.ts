// A capture's shards built and written on a worker thread, while the main thread runs the next
// forward pass: batches go over with their buffers transferred, not copied; a bounded number of
// bytes waits unwritten, so memory stays flat; the thread's errors are rethrown here as they were.
import { Worker } from 'node:worker_threads';
import type { ShardRecord } from './schema.ts';
import { actsBuffers, type BatchSink, type CaptureBatch, type ShardStreamsInit } from './shard-streams.ts';
import { writerThreadEntry } from './writer-bundle.ts';
import { type FromWriter, revive, type ToWriter } from './writer-messages.ts';

/**
 * How far the forward may run ahead of the writing: batches sent but not yet written, up to
 * RUN_AHEAD_BYTES of them, and two in any case. The bytes let the forward go on while the
 * thread starts (0.15–0.25 s from its bundle, dozens of small batches' worth) and absorb either
 * thread's slow batches; the two keep writing overlapped with the forward when one batch alone
 * is larger than the bound. Memory stays within max(RUN_AHEAD_BYTES, two batches).
 */
export const RUN_AHEAD_BYTES = 64 * 1024 * 1024;
const MIN_IN_FLIGHT = 2;

/** Flags that load code into every thread before its entry: a loader, or a preloaded module. */
const LOADER_FLAGS = new Set(['--import', '--loader', '--experimental-loader', '--require', '-r']);

/**
 * The parent's Node flags less those that load code first. A worker inherits them, so under
 * `node --import tsx` the thread would register tsx's loader (and start its thread) before
 * running a bundle that needs none: ~80 ms more start-up, beside the forward pass. The tsx
 * fallback registers tsx itself. (Loaders in NODE_OPTIONS still reach the thread: Node applies
 * them to every worker.)
 */
export function withoutLoaders(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const flag = execArgv[i] as string;
    const eq = flag.indexOf('=');
    if (LOADER_FLAGS.has(flag)) i++; // its value is the next argument
    else if (eq < 0 || !LOADER_FLAGS.has(flag.slice(0, eq))) kept.push(flag);
  }
  return kept;
}

/** Writer threads started by this process, for tests: whether a capture took the prestarted one. */
let threadsStarted = 0;
export const writerThreadsStarted = (): number => threadsStarted;

/** Every buffer the batch's arrays live in, once each: the batch is the thread's after sending. */
function buffersOf(b: CaptureBatch): ArrayBuffer[] {
  const { seq, pos, token, labels, validity } = b.base;
  const arrays: ArrayBufferView[] = [seq, pos, token, ...labels.values(), ...[...(validity?.values() ?? [])].map((v) => v.valid)];
  const base = arrays.map((a) => a.buffer).filter((x): x is ArrayBuffer => x instanceof ArrayBuffer);
  return [...new Set([...base, ...actsBuffers(b)])];
}

/**
 * A worker on `entry` with the parent's flags less its loaders. Node refuses some flags when they
 * are given to a worker explicitly (--max-old-space-size, --stack-size, --trace-gc…), though it
 * lets a worker inherit them: with one of those, the thread inherits every flag as before.
 */
export function startThread(entry: URL): Worker {
  threadsStarted++;
  const execArgv = withoutLoaders(process.execArgv);
  if (execArgv.length === process.execArgv.length) return new Worker(entry);
  try {
    return new Worker(entry, { execArgv });
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw e;
    return new Worker(entry);
  }
}

/** A thread started ahead of its capture; `dead` once it failed to load or exited. */
let spare: { thread: Worker; ready: Promise<void>; dead: boolean; settings: string; release(): void } | undefined;

/** The settings that choose the thread's entry (writerThreadEntry): a spare started under others is not used. */
const entrySettings = () => `${process.env.HCPROBE_WRITER_BUNDLE}|${process.env.HCPROBE_CACHE_DIR}`;

/**
 * Starts the next capture's writer thread now, so that it loads while the caller does other work
 * (the CLI: reading the checkpoint and the corpus, starting the backend) rather than beside the
 * capture's first forward passes. The next WriterThread takes it; until then it keeps the process
 * alive only while it loads. Resolves once the thread has loaded, failed to (the capture then
 * starts a thread of its own, whose failure it reports) or been taken. Calling it again before a
 * capture takes the thread returns the same one.
 */
export function prestartWriterThread(): Promise<void> {
  if (!spare) {
    const thread = startThread(writerThreadEntry());
    // Unreferenced: once loaded, the thread holds the process no longer. Until then its 'message'
    // listener does (~50 ms from the bundle), so that awaiting the promise can see it load.
    thread.unref();
    let ready = () => {};
    const died = () => {
      s.dead = true;
      ready();
    };
    // Only these listeners go when the thread is taken (Node's own on the Worker must stay); the
    // promise resolves then, if the thread had not loaded yet.
    const release = () => {
      thread.off('message', ready).off('error', died).off('exit', died);
      ready();
    };
    const s = { thread, ready: new Promise<void>((r) => { ready = r; }), dead: false, settings: entrySettings(), release };
    thread.once('message', ready).once('error', died).once('exit', died);
    spare = s;
  }
  return spare.ready;
}

/** The spare thread if it is alive and started under the same settings, else a new one. */
function takeThread(): Worker {
  const s = spare;
  spare = undefined;
  if (s && !s.dead && s.settings === entrySettings()) {
    s.release();
    s.thread.ref();
    return s.thread;
  }
  if (s && !s.dead) void s.thread.terminate();
  return startThread(writerThreadEntry());
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
   * Starts the thread, or takes the one prestartWriterThread started, and returns at once: a
   * thread still loading takes the batches sent meanwhile when ready. `written` is called, in
   * order, with the end of each batch once its bytes are in the shard files, after `recycle` got
   * its activations' buffers back.
   */
  constructor(init: ShardStreamsInit, written: (endSeq: number) => void, recycle: (buffers: ArrayBuffer[]) => void) {
    this.thread = takeThread();
    this.thread.postMessage({ kind: 'init', init, abortFlag: this.abortFlag } satisfies ToWriter);
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
      else if (m.kind === 'error') this.fail(revive(m.error));
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
    // One turn of the event loop per batch, so that the thread's messages are handled as they
    // come: progress is reported when a batch is written, not only when the forward next waits at
    // the bound (a capture under RUN_AHEAD_BYTES never did), and pooled buffers come back sooner.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  async finish(): Promise<ShardRecord[]> {
    this.thread.postMessage({ kind: 'finish' } satisfies ToWriter);
    await this.until(() => this.shards !== undefined);
    // Done with: stopped without waiting for its teardown (~5 ms), which holds nothing of ours.
    this.thread.unref();
    void this.thread.terminate();
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
