// The capture's writer thread (writer-thread.ts): the shard streams of workerData, fed one batch
// per message, in order; it answers each message, or reports the first error it meets and then
// writes nothing more. An abort is always answered, after what was sent before it is written.
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { ShardStreams, type ShardStreamsInit } from './shard-streams.ts';
import { errorData, type FromWriter, type ToWriter } from './writer-thread.ts';

const port = parentPort as MessagePort;
const send = (m: FromWriter) => port.postMessage(m);
let streams: ShardStreams | undefined;
let failed = false;

function fail(e: unknown): void {
  failed = true;
  send({ kind: 'error', error: errorData(e) });
}

async function handle(m: ToWriter): Promise<void> {
  if (m.kind === 'abort') {
    try {
      streams?.abort();
    } finally {
      send({ kind: 'aborted' });
    }
    return;
  }
  if (failed || !streams) return;
  if (m.kind === 'batch') {
    await streams.write(m.batch);
    send({ kind: 'written', endSeq: m.batch.endSeq });
  } else send({ kind: 'finished', shards: await streams.finish() });
}

try {
  streams = new ShardStreams(workerData as ShardStreamsInit);
} catch (e) {
  fail(e);
}
// One message at a time, in the order sent: each batch's bytes follow the previous batch's.
let queue = Promise.resolve();
port.on('message', (m: ToWriter) => {
  queue = queue.then(() => handle(m)).catch((e: unknown) => fail(e));
});
