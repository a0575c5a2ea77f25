// docs/metrics.md metrics of the streams at one site, layer and module: signal shares and N_eff,
// mean pairwise cosine, linear CKA and cross-stream ridge R² (split 80/20 by sequence, the
// ridge strength chosen on a fifth of the 80).
import { linearCka } from '../src/stats/cka.ts';
import { type Moments, mergeMoments } from '../src/stats/moments.ts';
import { summariseShares } from '../src/stats/stream-shares.ts';
import type { StreamSiteDiagnostics } from './results-schema.ts';
import { type RidgePool, ridgeMatrix } from './ridge-pool.ts';
import type { SequenceSplit } from './sequence-split.ts';
import { streamMoments } from './stream-moments.ts';

export const RIDGE_ALPHAS = [1e-4, 1e-3, 1e-2, 1e-1, 1]; // λ = α·tr(Cov)/d: from nearly OLS to heavy shrinkage

export type StreamMetrics = Omit<StreamSiteDiagnostics, 'site' | 'layer' | 'module'>;

/** `split` has parts train (64%), val (16%) and test (20%) of the sequences; `pool` takes the ridge fits when given (same results). */
export async function streamDiagnostics(streams: Float32Array[], d: number, split: SequenceSplit, pool?: RidgePool): Promise<StreamMetrics> {
  const n = streams.length;
  const rows = split.part.length;
  const energy = new Float64Array(n);
  const cosSum = Array.from({ length: n }, () => new Float64Array(n));
  const cosCount = Array.from({ length: n }, () => new Float64Array(n));
  const norms = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    const off = r * d;
    for (let i = 0; i < n; i++) {
      const s = streams[i] as Float32Array;
      let sq = 0;
      for (let j = 0; j < d; j++) sq += (s[off + j] as number) ** 2;
      energy[i] = (energy[i] as number) + sq;
      norms[i] = Math.sqrt(sq);
    }
    for (let i = 0; i < n; i++) {
      for (let k = i + 1; k < n; k++) {
        const ni = norms[i] as number;
        const nk = norms[k] as number;
        // A zero vector has no direction: the token does not count towards that pair.
        if (ni === 0 || nk === 0) continue;
        const a = streams[i] as Float32Array;
        const b = streams[k] as Float32Array;
        let dot = 0;
        for (let j = 0; j < d; j++) dot += (a[off + j] as number) * (b[off + j] as number);
        const c = dot / (ni * nk);
        (cosSum[i] as Float64Array)[k] = ((cosSum[i] as Float64Array)[k] as number) + c;
        (cosCount[i] as Float64Array)[k] = ((cosCount[i] as Float64Array)[k] as number) + 1;
      }
    }
  }
  const meanEnergy = Array.from(energy, (e) => e / Math.max(rows, 1));
  const signal = summariseShares(meanEnergy);
  const cosine = square(n, (i, k) => {
    if (i === k) return 1;
    const [a, b] = i < k ? [i, k] : [k, i];
    const c = (cosCount[a] as Float64Array)[b] as number;
    return c > 0 ? ((cosSum[a] as Float64Array)[b] as number) / c : 0;
  });
  const [train, val, test] = streamMoments(streams, d, split.part) as [Moments, Moments, Moments];
  const all = mergeMoments(train, val, test);
  const trainVal = mergeMoments(train, val);
  const range = (i: number) => ({ offset: i * d, width: d });
  const cka = square(n, (i, k) => (i === k ? 1 : i < k ? linearCka(all, range(i), range(k)) : Number.NaN));
  for (let i = 0; i < n; i++) for (let k = 0; k < i; k++) (cka[i] as number[])[k] = (cka[k] as number[])[i] as number;
  const ridge = await ridgeMatrix({ train, val, test, trainVal }, n, d, RIDGE_ALPHAS, pool);
  const offDiagMean = (m: number[][]) => {
    const vals: number[] = [];
    for (let i = 0; i < n; i++) for (let k = i + 1; k < n; k++) vals.push((m[i] as number[])[k] as number);
    return vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null;
  };
  return {
    tokens: rows,
    energy: meanEnergy,
    signal: { shares: signal.shares, dominance: signal.dominance, dominant: signal.dominant, n_eff: signal.nEff, n_eff_simpson: signal.nEffSimpson },
    cosine,
    mean_pairwise_cosine: offDiagMean(cosine),
    cka,
    mean_pairwise_cka: offDiagMean(cka),
    ridge_r2: ridge.map((row) => row.map((x) => x.r2)),
    ridge_alpha: ridge.map((row) => row.map((x) => x.alpha)),
  };
}

function square<T>(n: number, f: (i: number, k: number) => T): T[][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, k) => f(i, k)));
}
