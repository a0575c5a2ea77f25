// Probes on every core: one feature matrix (a stream of a site) with its targets is one job;
// jobs go to worker threads, each with its own tfjs instance, and to the main thread between
// their messages. A job's outcome depends on its inputs only, so any worker count gives the
// same results, in the order the jobs were given.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { BackendName } from '../src/engine/backend.ts';
import { prepareFeatures, probeFeatures, type ProbeOutcome, type ProbeTarget } from './probe-features.ts';
import type { SequenceSplit } from './sequence-split.ts';

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

interface Slot {
  thread: Worker;
  busy: boolean;
}

export class ProbePool {
  private constructor(private readonly slots: Slot[]) {}

  /** Starts `count` threads that run jobs on `backend` (the main thread's, so results agree). */
  static async start(count: number, backend: BackendName): Promise<ProbePool> {
    const slots = await Promise.all(
      Array.from({ length: count }, async () => {
        const thread = new Worker(new URL('./probe-worker-boot.mjs', import.meta.url), { workerData: { backend } });
        await new Promise<void>((resolve, reject) => {
          thread.once('message', () => resolve());
          thread.once('error', reject);
          thread.once('exit', (code) => reject(new Error(`probe worker exited with code ${code} before it was ready`)));
        });
        return { thread, busy: false };
      }),
    );
    return new ProbePool(slots);
  }

  get size(): number {
    return this.slots.length;
  }

  /**
   * Outcomes of every job, in job order. Idle workers take the next job; the main thread takes
   * one whenever it is free, yielding between jobs so that finished workers get new ones.
   */
  async runAll(jobs: readonly ProbeJob[], onDone: (index: number) => void = () => {}): Promise<ProbeOutcome[][]> {
    const out: ProbeOutcome[][] = new Array(jobs.length);
    let next = 0;
    let pending = 0;
    let failure: Error | undefined;
    let wake: () => void = () => {};
    const feed = (slot: Slot) => {
      if (next >= jobs.length || failure) return;
      const i = next++;
      slot.busy = true;
      pending++;
      const finish = (m: unknown) => {
        slot.thread.off('error', fail);
        slot.busy = false;
        pending--;
        if (typeof m === 'object' && m !== null && 'error' in m) failure ??= new Error(`probe worker failed: ${String((m as { error: unknown }).error)}`);
        else {
          out[i] = m as ProbeOutcome[];
          onDone(i);
          feed(slot);
        }
        wake();
      };
      const fail = (e: Error) => {
        slot.thread.off('message', finish);
        pending--;
        failure ??= e;
        wake();
      };
      slot.thread.once('message', finish);
      slot.thread.once('error', fail);
      slot.thread.postMessage(jobs[i]);
    };
    for (const s of this.slots) feed(s);
    while (next < jobs.length && !failure) {
      const i = next++;
      out[i] = runProbeJob(jobs[i] as ProbeJob);
      onDone(i);
      await new Promise((r) => setImmediate(r));
    }
    while (pending > 0) await new Promise<void>((r) => { wake = r; });
    if (failure) throw failure;
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.thread.terminate()));
  }
}
