// Cross-stream ridge R² (docs/metrics.md) on every core: a job is one ordered stream pair of a site
// with the split moments it is fitted and scored from; the moments sit in shared memory, so a job
// posts views, not copies. The fits are float64 JavaScript on every thread: results do not depend
// on the worker count.
import { availableParallelism } from 'node:os';
import type { Moments } from '../src/stats/moments.ts';
import { selectRidge } from '../src/stats/ridge.ts';
import { WorkerPool } from './worker-pool.ts';

export interface RidgeJob {
  /** Moments of the concatenated streams [H_0 … H_{n−1}] per split part, and of train + val. */
  train: Moments;
  val: Moments;
  test: Moments;
  trainVal: Moments;
  /** Stream width: stream i is features i·d … (i+1)·d − 1. */
  d: number;
  /** Ordered pairs [source, target]: stream target regressed on stream source. */
  pairs: [number, number][];
  alphas: readonly number[];
}

export type RidgeOutcome = { alpha: number; r2: number }[];

/** The computation of one job, the same on every thread. */
export function runRidgeJob(j: RidgeJob): RidgeOutcome {
  const range = (i: number) => ({ offset: i * j.d, width: j.d });
  return j.pairs.map(([a, b]) => selectRidge(j.train, j.val, j.test, j.trainVal, range(a), range(b), j.alphas));
}

/** Worker threads besides the main one: one per extra core on any backend, since the fits never touch tfjs. */
export function defaultRidgeWorkers(): number {
  return Math.max(0, availableParallelism() - 1);
}

/** A copy of m in shared memory: posting it to a worker then shares it instead of copying. */
export function sharedMoments(m: Moments): Moments {
  const share = (a: Float64Array) => {
    const out = new Float64Array(new SharedArrayBuffer(a.byteLength));
    out.set(a);
    return out;
  };
  return { dim: m.dim, count: m.count, sum: share(m.sum), cross: share(m.cross) };
}

export type RidgePool = WorkerPool<RidgeJob, RidgeOutcome>;

/**
 * The n × n matrix of ridge fits (row: source stream, column: target; the diagonal is {0, 1}),
 * one job per ordered pair, spread over `pool` when it has threads, else all on this one.
 */
export async function ridgeMatrix(
  parts: Pick<RidgeJob, 'train' | 'val' | 'test' | 'trainVal'>, n: number, d: number, alphas: readonly number[], pool?: RidgePool,
): Promise<RidgeOutcome[]> {
  const threads = pool !== undefined && pool.size > 0;
  const moments = threads
    ? { train: sharedMoments(parts.train), val: sharedMoments(parts.val), test: sharedMoments(parts.test), trainVal: sharedMoments(parts.trainVal) }
    : parts;
  const pairs: [number, number][] = [];
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) if (i !== k) pairs.push([i, k]);
  const jobs: RidgeJob[] = pairs.map((p) => ({ ...moments, d, pairs: [p], alphas }));
  const fits = threads ? await pool.runAll(jobs, runRidgeJob) : jobs.map(runRidgeJob);
  const out = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, k) => (i === k ? { alpha: 0, r2: 1 } : { alpha: Number.NaN, r2: Number.NaN })));
  pairs.forEach(([i, k], j) => {
    (out[i] as RidgeOutcome)[k] = (fits[j] as RidgeOutcome)[0] as { alpha: number; r2: number };
  });
  return out;
}

/** `count` threads that fit ridge jobs (no tfjs in them). */
export function startRidgePool(count: number): Promise<RidgePool> {
  return WorkerPool.start<RidgeJob, RidgeOutcome>(count, new URL('./ridge-worker-boot.mjs', import.meta.url), 'ridge');
}
