// Reconstruction and sparsity metrics (docs/metrics.md), accumulated in float64:
// L0 = mean non-zeros per token; EV = 1 − E‖x − x̂‖² / (E‖x‖² − ‖E x‖²), FVU = 1 − EV;
// shrinkage E_b ‖x̂_b‖/‖x_b‖; feature densities, dead (density 0) and dense (> 1%, > 10%) fractions.
import type { SparseCodes } from './sparse-codes.ts';

export class ReconstructionStats {
  private n = 0;
  private sq = 0;
  private err = 0;
  private ratio = 0;
  private nonzero = 0;
  private readonly sum: Float64Array;

  constructor(readonly d: number) {
    this.sum = new Float64Array(d);
  }

  add(x: Float32Array, xhat: Float32Array, rows: number): void {
    const d = this.d;
    for (let o = 0; o < rows * d; o += d) {
      let xx = 0;
      let hh = 0;
      for (let t = 0; t < d; t++) {
        const v = x[o + t] as number;
        const h = xhat[o + t] as number;
        const e = v - h;
        xx += v * v;
        hh += h * h;
        this.err += e * e;
        this.sum[t] = (this.sum[t] as number) + v;
      }
      this.sq += xx;
      if (xx > 0) {
        this.ratio += Math.sqrt(hh / xx);
        this.nonzero++;
      }
    }
    this.n += rows;
  }

  /** Mean squared error per token, E‖x − x̂‖². */
  mse(): number {
    return this.err / this.n;
  }

  /** Mean over tokens with x ≠ 0 of ‖x̂‖/‖x‖. */
  shrinkage(): number {
    return this.nonzero > 0 ? this.ratio / this.nonzero : Number.NaN;
  }

  ev(): number {
    let meanSq = 0;
    for (const s of this.sum) meanSq += (s / this.n) ** 2;
    const variance = this.sq / this.n - meanSq;
    return variance > 0 ? 1 - this.mse() / variance : Number.NaN;
  }
}

export interface DensityStats {
  /** Per latent: fraction of tokens on which it fires. */
  density: Float64Array;
  l0: number;
  deadFraction: number;
  dense1pct: number;
  dense10pct: number;
}

export function densityStats(codes: SparseCodes, m: number): DensityStats {
  const count = new Float64Array(m);
  const total = codes.rowPtr[codes.rows] as number;
  for (let q = 0; q < total; q++) {
    const f = codes.idx[q] as number;
    if ((codes.val[q] as number) > 0) count[f] = (count[f] as number) + 1;
  }
  const density = count.map((c) => c / Math.max(codes.rows, 1));
  const frac = (pred: (x: number) => boolean) => density.reduce((a, x) => a + (pred(x) ? 1 : 0), 0) / m;
  let fired = 0;
  for (const c of count) fired += c;
  return { density, l0: fired / Math.max(codes.rows, 1), deadFraction: frac((x) => x === 0), dense1pct: frac((x) => x > 0.01), dense10pct: frac((x) => x > 0.1) };
}
