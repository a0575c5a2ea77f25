// Stream attribution of a feature learned on the concatenated streams [H_1 … H_n] (docs/metrics.md):
// share_i(f) = ‖W_dec[f, block i]‖² / ‖W_dec[f]‖²; concentration = the fraction of live
// features whose top share exceeds 0.5, and which streams those features live in.
import { summariseShares } from '../src/stats/stream-shares.ts';

/** Shares [m, n] from a decoder W_dec [m, n·d]. */
export function streamShares(wDec: Float32Array, m: number, n: number, d: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let f = 0; f < m; f++) {
    let total = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      const o = f * n * d + i * d;
      for (let t = 0; t < d; t++) s += (wDec[o + t] as number) ** 2;
      out[f * n + i] = s;
      total += s;
    }
    for (let i = 0; i < n; i++) out[f * n + i] = total > 0 ? (out[f * n + i] as number) / total : 1 / n;
  }
  return out;
}

export interface Concentration {
  /** Live features (density > 0) considered. */
  live: number;
  /** Fraction of live features whose top share exceeds the threshold. */
  concentrated: number;
  threshold: number;
  /** Per stream: fraction of live features concentrated in it (sums to `concentrated`). */
  byStream: number[];
  /** Per stream: mean share over live features. */
  meanShares: number[];
  /** The stream holding most concentrated features, its share of them, and N_eff over streams. */
  dominant: number;
  dominance: number;
  nEff: number;
}

export function concentration(shares: Float64Array, n: number, live: ArrayLike<boolean>, threshold = 0.5): Concentration {
  const m = shares.length / n;
  const byStream = new Array<number>(n).fill(0);
  const meanShares = new Array<number>(n).fill(0);
  let count = 0;
  for (let f = 0; f < m; f++) {
    if (!live[f]) continue;
    count++;
    let top = 0;
    for (let i = 0; i < n; i++) {
      const s = shares[f * n + i] as number;
      meanShares[i] = (meanShares[i] as number) + s;
      if (s > (shares[f * n + top] as number)) top = i;
    }
    if ((shares[f * n + top] as number) > threshold) byStream[top] = (byStream[top] as number) + 1;
  }
  const concentratedCount = byStream.reduce((a, b) => a + b, 0);
  const summary = summariseShares(concentratedCount > 0 ? byStream : meanShares);
  return {
    live: count,
    concentrated: count > 0 ? concentratedCount / count : 0,
    threshold,
    byStream: byStream.map((b) => (count > 0 ? b / count : 0)),
    meanShares: meanShares.map((s) => (count > 0 ? s / count : 0)),
    dominant: summary.dominant,
    dominance: summary.dominance,
    nEff: summary.nEff,
  };
}

/** The stream with the largest share of feature f. */
export function topStream(shares: Float64Array, n: number, f: number): number {
  let top = 0;
  for (let i = 1; i < n; i++) if ((shares[f * n + i] as number) > (shares[f * n + top] as number)) top = i;
  return top;
}
