// A probe worker thread (probes/probe-pool.ts): its own tfjs instance on the main thread's
// backend; it answers each job with its outcomes, or with the error it met.
import { parentPort, workerData } from 'node:worker_threads';
import { type BackendName, initBackend } from '../src/engine/backend.ts';
import { type ProbeJob, runProbeJob } from './probe-pool.ts';

await initBackend((workerData as { backend: BackendName }).backend);
parentPort?.on('message', (job: ProbeJob) => {
  try {
    parentPort?.postMessage(runProbeJob(job));
  } catch (e) {
    parentPort?.postMessage({ error: (e as Error).stack ?? String(e) });
  }
});
parentPort?.postMessage('ready');
