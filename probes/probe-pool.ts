// Probes on every core: one feature matrix (a stream of a site) with its targets is one job;
// jobs go to worker threads, each with its own tfjs instance, and to the main thread between
// their messages. A job's outcome depends on its inputs only, so any worker count gives the
// same results, in the order the jobs were given.
import { availableParallelism } from 'node:os';
import type { BackendName } from '../src/engine/backend.ts';
import { prepareFeatures, probeFeatures, type ProbeOutcome, type ProbeTarget } from './probe-features.ts';
import type { SequenceSplit } from './sequence-split.ts';
import { WorkerPool } from './worker-pool.ts';

export interface ProbeJob {
  /** [rows, dim] features of one stream (or the stream sum). */
  x: Float32Array;
  dim: number;
  split: SequenceSplit;
  /** 1 for rows that carry at least one label. */
  keep: Uint8Array;
  targets: ProbeTarget[];
  l2Grid: number[];
}

/** The computation of one job, the same on every thread. */
export function runProbeJob(j: ProbeJob): ProbeOutcome[] {
  return probeFeatures(prepareFeatures(j.x, j.dim, j.split, (r) => j.keep[r] === 1), j.targets, j.l2Grid);
}

/** Worker threads besides the main one: one per extra core on the CPU backends, none on a GPU. */
export function defaultProbeWorkers(backend: string): number {
  return backend === 'wasm' || backend === 'cpu' ? Math.max(0, availableParallelism() - 1) : 0;
}

export class ProbePool {
  private constructor(private readonly pool: WorkerPool<ProbeJob, ProbeOutcome[]>) {}

  /** Starts `count` threads that run jobs on `backend` (the main thread's, so results agree). */
  static async start(count: number, backend: BackendName): Promise<ProbePool> {
    return new ProbePool(await WorkerPool.start(count, new URL('./probe-worker-boot.mjs', import.meta.url), 'probe', { backend }));
  }

  get size(): number {
    return this.pool.size;
  }

  /** Outcomes of every job, in job order (probes/worker-pool.ts). */
  runAll(jobs: readonly ProbeJob[], onDone: (index: number) => void = () => {}): Promise<ProbeOutcome[][]> {
    return this.pool.runAll(jobs, runProbeJob, onDone);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
