// What the capture's main thread and its writer thread (writer-thread.ts,
// writer-thread-worker.ts) say to each other, and errors as they cross between them. The thread
// imports this, not writer-thread.ts, so its bundle (writer-bundle.ts) holds no main-side code.
import { ConfigError } from '../errors.ts';
import type { ShardRecord } from './schema.ts';
import type { CaptureBatch, ShardStreamsInit } from './shard-streams.ts';

/**
 * The thread starts with nothing to write, so that it can load before its capture is known
 * (prestartWriterThread); the first message gives it what its shard streams are made from, and
 * the flag abort() raises (an Int32 on shared memory).
 */
export type ToWriter =
  | { kind: 'init'; init: ShardStreamsInit; abortFlag: Int32Array }
  | { kind: 'batch'; batch: CaptureBatch }
  | { kind: 'finish' }
  | { kind: 'abort' };

export type FromWriter =
  | { kind: 'ready' }
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
