// Data parallelism across CPU cores: tfjs-wasm runs one thread per instance in Node, so each
// extra core gets a worker thread with its own instance; the main thread computes one share
// of every batch and the workers the others, and gradients are averaged in a fixed order.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ModelConfig } from '../model/config.ts';
import type { Params } from '../model/params.ts';
import { CMD_EXIT, CMD_STEP, sharedBuffers, sharedViews, type SharedViews, STATUS_BUSY, STATUS_ERROR } from './parallel-protocol.ts';

/** One extra worker per extra core on wasm (at most `cap`); none elsewhere (GPUs, cpu reference). */
export function defaultWorkers(activeBackend: string, cap = 1): number {
  return activeBackend === 'wasm' ? Math.max(0, Math.min(cap, availableParallelism() - 1)) : 0;
}

export interface Share {
  rows: number;
  seqLen: number;
  tokens: Int32Array;
  targets: Int32Array;
}

class GradientWorker {
  error: string | undefined;
  constructor(
    readonly thread: Worker,
    readonly views: SharedViews,
  ) {
    thread.on('message', (m: unknown) => {
      if (typeof m === 'object' && m !== null && 'error' in m) this.error = String((m as { error: unknown }).error);
    });
  }
}

export class GradientWorkers {
  private constructor(
    private readonly workers: GradientWorker[],
    private readonly names: string[],
  ) {}

  /** Starts `count` worker threads for the trainable parameters `names` (in this order). */
  static async start(model: ModelConfig, names: string[], params: Params, count: number, maxTokens: number): Promise<GradientWorkers> {
    const paramCount = names.reduce((a, n) => a + (params.get(n)?.size ?? 0), 0);
    const layout = { paramCount, maxTokens };
    const workers = await Promise.all(
      Array.from({ length: count }, async () => {
        const buffers = sharedBuffers(layout);
        const thread = new Worker(new URL('./parallel-worker-boot.mjs', import.meta.url), { workerData: { model, names, layout, buffers } });
        await new Promise<void>((resolve, reject) => {
          thread.once('message', () => resolve());
          thread.once('error', reject);
          thread.once('exit', (code) => reject(new Error(`gradient worker exited with code ${code} before it was ready`)));
        });
        return new GradientWorker(thread, sharedViews(layout, buffers));
      }),
    );
    return new GradientWorkers(workers, names);
  }

  get count(): number {
    return this.workers.length;
  }

  /** Hands share i to worker i with the current parameter values; returns at once. */
  begin(params: Params, shares: Share[]): void {
    const flat = this.flatParams(params);
    shares.forEach((s, i) => {
      const w = this.workers[i] as GradientWorker;
      const v = w.views;
      v.params.set(flat);
      v.tokens.set(s.tokens);
      v.targets.set(s.targets);
      v.ctrl[1] = s.rows;
      v.ctrl[2] = s.seqLen;
      Atomics.store(v.ctrl, 3, STATUS_BUSY);
      Atomics.store(v.ctrl, 0, CMD_STEP);
      Atomics.notify(v.ctrl, 0);
    });
  }

  /** Waits for the first `n` workers; returns their losses and flat gradients (views into shared memory). */
  finish(n: number): { loss: number; grads: Float32Array }[] {
    return this.workers.slice(0, n).map((w) => {
      while (Atomics.load(w.views.ctrl, 3) === STATUS_BUSY) Atomics.wait(w.views.ctrl, 3, STATUS_BUSY, 1000);
      if (Atomics.load(w.views.ctrl, 3) === STATUS_ERROR) throw new Error(`gradient worker failed: ${w.error ?? 'unknown error'}`);
      return { loss: w.views.loss[0] as number, grads: w.views.grads };
    });
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(async (w) => {
        Atomics.store(w.views.ctrl, 0, CMD_EXIT);
        Atomics.notify(w.views.ctrl, 0);
        await w.thread.terminate();
      }),
    );
  }

  private flatParams(params: Params): Float32Array {
    const out = new Float32Array((this.workers[0] as GradientWorker).views.params.length);
    let off = 0;
    for (const n of this.names) {
      const v = params.get(n);
      if (!v) continue;
      out.set(v.dataSync() as Float32Array, off);
      off += v.size;
    }
    return out;
  }
}
