// Jobs on every core: worker threads (started from a .mjs boot file, since a worker does not
// inherit the parent's TypeScript loader) and the main thread between their messages. A job's
// result depends on the job only, so any worker count gives the same results, in job order.
import { parentPort, Worker } from 'node:worker_threads';

interface Slot {
  thread: Worker;
}

export class WorkerPool<J, R> {
  private running = false;

  private constructor(
    private readonly slots: Slot[],
    private readonly name: string,
  ) {}

  /** Starts `count` threads from `boot`; each posts one message once it is ready for jobs. */
  static async start<J, R>(count: number, boot: URL, name: string, workerData: unknown = null): Promise<WorkerPool<J, R>> {
    const slots = await Promise.all(
      Array.from({ length: count }, async () => {
        const thread = new Worker(boot, { workerData });
        await new Promise<void>((resolve, reject) => {
          thread.once('message', () => resolve());
          thread.once('error', reject);
          thread.once('exit', (code) => reject(new Error(`${name} worker exited with code ${code} before it was ready`)));
        });
        return { thread };
      }),
    );
    return new WorkerPool<J, R>(slots, name);
  }

  get size(): number {
    return this.slots.length;
  }

  /**
   * Results of every job, in job order. Idle workers take the next job; the main thread runs one
   * with `runHere` whenever it is free, yielding between jobs so that finished workers get new
   * ones. One call at a time: the threads answer in the order they were asked.
   */
  async runAll(jobs: readonly J[], runHere: (job: J) => R, onDone: (index: number) => void = () => {}): Promise<R[]> {
    if (this.running) throw new Error(`${this.name} pool: runAll called while another runAll is in progress`);
    this.running = true;
    try {
      return await this.spread(jobs, runHere, onDone);
    } finally {
      this.running = false;
    }
  }

  private async spread(jobs: readonly J[], runHere: (job: J) => R, onDone: (index: number) => void): Promise<R[]> {
    const out: R[] = new Array(jobs.length);
    let next = 0;
    let pending = 0;
    let failure: Error | undefined;
    let wake: () => void = () => {};
    const feed = (slot: Slot) => {
      if (next >= jobs.length || failure) return;
      const i = next++;
      pending++;
      const finish = (m: unknown) => {
        slot.thread.off('error', fail);
        pending--;
        if (typeof m === 'object' && m !== null && 'error' in m) failure ??= new Error(`${this.name} worker failed: ${String((m as { error: unknown }).error)}`);
        else {
          out[i] = m as R;
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
      out[i] = runHere(jobs[i] as J);
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

/** The worker's side: answers each job with `run`'s result, or with the error it met; then says it is ready. */
export function serveJobs<J, R>(run: (job: J) => R): void {
  parentPort?.on('message', (job: J) => {
    try {
      parentPort?.postMessage(run(job));
    } catch (e) {
      parentPort?.postMessage({ error: (e as Error).stack ?? String(e) });
    }
  });
  parentPort?.postMessage('ready');
}
