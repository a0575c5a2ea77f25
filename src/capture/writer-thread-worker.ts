// The capture's writer thread (writer-thread.ts): once loaded it says so, then takes its shard
// streams' init from the first message and is fed one batch per message, in order; it answers
// each batch, finish and abort, or reports the first error it meets and then writes nothing
// more. An abort is always answered: batches (and a finish) still waiting when it is raised are
// dropped, so no shard they would complete is recorded and a resume redoes them.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { type MessagePort, parentPort } from 'node:worker_threads';
import { actsBuffers, ShardStreams } from './shard-streams.ts';
import { errorData, type FromWriter, type ToWriter } from './writer-messages.ts';

// The writing should use a spare core, never take one from the forward pass: where the threads
// outnumber the cores, this one gives way (Linux: nice 10 for this thread alone; elsewhere as is).
try {
  setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), 10);
} catch {
  // no /proc/thread-self, or not allowed: the thread keeps its priority
}

const port = parentPort as MessagePort;
const send = (m: FromWriter, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
let streams: ShardStreams | undefined;
let failed = false;
/** Raised by abort() before it posts: what is queued ahead of the abort message is dropped. */
let abortFlag: Int32Array | undefined;

function fail(e: unknown): void {
  failed = true;
  send({ kind: 'error', error: errorData(e) });
}

async function handle(m: ToWriter): Promise<void> {
  if (m.kind === 'init') {
    abortFlag = m.abortFlag;
    streams = new ShardStreams(m.init);
    return;
  }
  if (m.kind === 'abort') {
    try {
      await streams?.abort();
    } finally {
      send({ kind: 'aborted' });
    }
    return;
  }
  if (failed || !streams) return;
  // Batches and a finish alike are dropped after an abort (a finish would record the open
  // shards, short of their batches).
  if (abortFlag && Atomics.load(abortFlag, 0) !== 0) return;
  if (m.kind === 'batch') {
    await streams.write(m.batch);
    // Written: its activations' buffers go back for later batches' reads.
    const buffers = actsBuffers(m.batch);
    send({ kind: 'written', endSeq: m.batch.endSeq, buffers }, buffers);
  } else send({ kind: 'finished', shards: await streams.finish() });
}

// One message at a time, in the order sent: each batch's bytes follow the previous batch's.
let queue = Promise.resolve();
port.on('message', (m: ToWriter) => {
  queue = queue.then(() => handle(m)).catch((e: unknown) => fail(e));
});
send({ kind: 'ready' });
