// A probe worker thread (probes/probe-pool.ts): its own tfjs instance on the main thread's
// backend; it answers each job with its outcomes, or with the error it met.
import { workerData } from 'node:worker_threads';
import { type BackendName, initBackend } from '../src/engine/backend.ts';
import { runProbeJob } from './probe-pool.ts';
import { serveJobs } from './worker-pool.ts';

await initBackend((workerData as { backend: BackendName }).backend);
serveJobs(runProbeJob);
