// Ablate and rescue (docs/metrics.md): can one stream stand in for another? At the output of
// each layer l (blocks.l.hook_resid_post[i]), the validation CE change when stream i is zeroed,
// when streams i and j are both zeroed, and when stream i is zeroed and stream j's clean content
// is put in its slot. If any stream rescues any other, the streams are redundant; if only the
// stream itself does, the model depends on it. Each batch is compared with the same batch
// unmodified, CE per batch averaged over batches, as in mixing-interventions.ts.
import { meanInterval } from '../src/stats/t-interval.ts';
import { tf, type Tensor } from '../src/engine/tf.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { type HookFn, hookName } from '../src/model/hooks.ts';
import type { Params } from '../src/model/params.ts';
import { disposeCachedRun, runWithCache } from '../src/model/run-with-cache.ts';
import { crossEntropy, forward } from '../src/model/transformer.ts';
import type { EvalBatch } from './mixing-interventions.ts';
import type { AblateRescue } from './results-schema.ts';

/** Validation tokens measured when the caller names none (`diagnose --rescue-tokens`). */
export const DEFAULT_RESCUE_TOKENS = 2048;

/** Below this |Δ CE| (nats) of zeroing stream i alone, its rescued fraction is null: nothing to rescue. */
export const MIN_ABLATE_DELTA = 1e-3;

/**
 * Forward passes per batch: the clean pass, then per layer n single ablations, n(n−1)/2 pair
 * ablations and n² rescues (the n with j = i restore the clean content: a check that reads 0).
 */
export function ablateRescuePassesPerBatch(c: ModelConfig): number {
  const n = c.nStreams;
  return 1 + c.nLayers * (n + (n * (n - 1)) / 2 + n * n);
}

export function ablateRescuePasses(c: ModelConfig, batches: number): number {
  return c.nStreams > 1 ? batches * ablateRescuePassesPerBatch(c) : 0;
}

const finiteOrNull = (v: number) => (Number.isFinite(v) ? v : null);

/** Pair ablation, rescue matrix and rescued fractions of every layer; needs n ≥ 2. */
export function ablateRescue(params: Params, c: ModelConfig, batches: readonly EvalBatch[], onPass: () => void = () => {}): AblateRescue {
  const { nLayers: L, nStreams: n } = c;
  if (n < 2) throw new Error('ablate and rescue needs two or more streams');
  if (batches.length === 0) throw new Error('ablate and rescue needs at least one evaluation batch');
  const ce = (logits: Tensor, y: Tensor) => tf.tidy(() => crossEntropy(logits, y).dataSync()[0] as number);
  // Per-batch Δ CE of every cell, flat: single ablation at l·n + i, pair and rescue at (l·n + i)·n + j.
  const lists = (k: number) => Array.from({ length: k }, () => [] as number[]);
  const single = lists(L * n);
  const pair = lists(L * n * n);
  const rescue = lists(L * n * n);
  const cleanCe: number[] = [];
  const energy = Array.from({ length: L }, () => new Float64Array(n));
  let tokens = 0;
  const residPost = Array.from({ length: L }, (_, l) => hookName({ kind: 'resid_post', layer: l }));
  const streamSite = (l: number, i: number) => hookName({ kind: 'resid_post', layer: l, stream: i });
  const zero: HookFn = (h) => tf.zerosLike(h);

  for (const b of batches) {
    const [B, T] = b.x.shape as [number, number];
    tokens += B * T;
    // The clean pass: its CE, and every layer's streams, kept as n slices [B, T, d] to copy in.
    const clean: Tensor[][] = [];
    try {
      const run = runWithCache(params, c, b.x, residPost);
      let base: number;
      try {
        base = ce(run.logits, b.y);
        residPost.forEach((name, l) => {
          const H = run.cache.get(name) as Tensor; // [B, T, n, d]
          const e = tf.tidy(() => tf.sum(tf.square(H), [0, 1, 3]).dataSync()); // [n]
          for (let i = 0; i < n; i++) (energy[l] as Float64Array)[i] = ((energy[l] as Float64Array)[i] as number) + (e[i] as number);
          clean.push(tf.unstack(H, 2)); // n × [B, T, d], ours until the batch is done
        });
      } finally {
        disposeCachedRun(run);
      }
      cleanCe.push(base);
      onPass();
      const delta = (hooks: Map<string, HookFn>) => {
        const v = tf.tidy(() => ce(forward(params, c, b.x, { hooks }), b.y));
        onPass();
        return v - base;
      };
      for (let l = 0; l < L; l++) {
        for (let i = 0; i < n; i++) {
          (single[l * n + i] as number[]).push(delta(new Map([[streamSite(l, i), zero]])));
          for (let j = i + 1; j < n; j++) {
            (pair[(l * n + i) * n + j] as number[]).push(delta(new Map([[streamSite(l, i), zero], [streamSite(l, j), zero]])));
          }
          for (let j = 0; j < n; j++) {
            // Zeroing slot i and then writing stream j's clean content there is replacing it;
            // j = i writes back what was there, so the CE must come out unchanged.
            const content = clean[l]?.[j] as Tensor;
            (rescue[(l * n + i) * n + j] as number[]).push(delta(new Map([[streamSite(l, i), () => content]])));
          }
        }
      }
    } finally {
      for (const row of clean) tf.dispose(row);
    }
  }

  const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
  const grid = <T>(f: (l: number, i: number) => T) => Array.from({ length: L }, (_, l) => Array.from({ length: n }, (_, i) => f(l, i)));
  const cube = <T>(f: (l: number, i: number, j: number) => T) => grid((l, i) => Array.from({ length: n }, (_, j) => f(l, i, j)));
  const ablate = grid((l, i) => meanInterval(single[l * n + i] as number[]));
  const ablateMean = ablate.map((row) => row.map((m) => m.mean));
  const pairMean = cube((l, i, j) => (i === j ? (ablate[l]?.[i]?.mean as number) : mean(pair[(l * n + Math.min(i, j)) * n + Math.max(i, j)] as number[])));
  const rescueMean = cube((l, i, j) => mean(rescue[(l * n + i) * n + j] as number[]));
  const energyMean = energy.map((row) => Array.from(row, (v) => v / tokens));
  return {
    tokens,
    batches: batches.length,
    loss: mean(cleanCe),
    energy: energyMean,
    dominant: energyMean.map((row) => row.indexOf(Math.max(...row))),
    ablate: ablateMean,
    ablate_ci_low: ablate.map((row) => row.map((m) => finiteOrNull(m.lo))),
    ablate_ci_high: ablate.map((row) => row.map((m) => finiteOrNull(m.hi))),
    pair_ablation: pairMean,
    rescue: rescueMean,
    rescued_fraction: rescueMean.map((rows, l) =>
      rows.map((row, i) => {
        const a = ablateMean[l]?.[i] as number;
        return row.map((r) => (Math.abs(a) < MIN_ABLATE_DELTA ? null : 1 - r / a));
      }),
    ),
    min_ablate_delta: MIN_ABLATE_DELTA,
  };
}
