// A ridge worker thread (probes/ridge-pool.ts): plain float64 JavaScript, no tfjs; it answers
// each job with its fits, or with the error it met.
import { runRidgeJob } from './ridge-pool.ts';
import { serveJobs } from './worker-pool.ts';

serveJobs(runRidgeJob);
