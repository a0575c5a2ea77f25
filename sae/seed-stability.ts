// Stream attribution across SAE seeds (docs/metrics.md): for each seed's concat SAE, the share of
// live latents whose top stream is i and the mean top share; across seeds their mean, spread and
// whether the majority stream is the same for every seed ("features live in stream i" is stable).
import type { SeedAttribution, SeedStability, Spread } from './results-schema.ts';

/** mean, sample std (n − 1), min and max; a single value has std 0. */
export function spread(values: readonly number[]): Spread {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, std: Number.NaN, min: Number.NaN, max: Number.NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const ss = values.reduce((a, b) => a + (b - mean) ** 2, 0);
  return { mean, std: n > 1 ? Math.sqrt(ss / (n - 1)) : 0, min: Math.min(...values), max: Math.max(...values) };
}

/** Top-stream shares and mean top share of the live latents, from shares [m, n] (attribution.ts). */
export function topStreamSummary(shares: Float64Array, n: number, live: ArrayLike<boolean>): { live: number; topStream: number[]; meanTopShare: number; majority: number } {
  const m = shares.length / n;
  const counts = new Array<number>(n).fill(0);
  let count = 0;
  let topSum = 0;
  for (let f = 0; f < m; f++) {
    if (!live[f]) continue;
    let top = 0;
    for (let i = 1; i < n; i++) if ((shares[f * n + i] as number) > (shares[f * n + top] as number)) top = i;
    counts[top] = (counts[top] as number) + 1;
    topSum += shares[f * n + top] as number;
    count++;
  }
  const topStream = counts.map((c) => (count > 0 ? c / count : 0));
  return { live: count, topStream, meanTopShare: count > 0 ? topSum / count : Number.NaN, majority: argmax(topStream) };
}

/** The summary over seeds of one layer's per-seed attributions. */
export function seedStability(layer: number, perSeed: SeedAttribution[]): SeedStability {
  const n = perSeed[0]?.top_stream.length ?? 0;
  const across = (pick: (s: SeedAttribution) => number[]) => Array.from({ length: n }, (_, i) => spread(perSeed.map((s) => pick(s)[i] as number)));
  const majorities = new Set(perSeed.map((s) => s.majority));
  // A seed without live latents, or whose top streams tie, has no majority stream (argmax would say 0).
  const clear = (s: SeedAttribution) => s.live > 0 && s.top_stream.every((v, i) => i === s.majority || v < (s.top_stream[s.majority] as number));
  const stable = perSeed.length > 0 && perSeed.every(clear) && majorities.size === 1;
  return {
    layer,
    seeds: perSeed.map((s) => s.seed),
    per_seed: perSeed,
    top_stream: across((s) => s.top_stream),
    by_stream: across((s) => s.by_stream),
    mean_top_share: spread(perSeed.map((s) => s.mean_top_share)),
    stable,
    majority: stable ? (perSeed[0] as SeedAttribution).majority : null,
  };
}

function argmax(xs: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if ((xs[i] as number) > (xs[best] as number)) best = i;
  return best;
}
