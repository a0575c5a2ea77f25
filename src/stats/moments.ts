// First and second moments of feature vectors, accumulated in float64: Σx and Σxxᵀ over rows,
// from which centred covariance blocks of any two feature ranges follow (CKA, ridge, R²).

export interface Moments {
  /** Feature dimension D. */
  dim: number;
  count: number;
  /** Σ_r x_r, [D]. */
  sum: Float64Array;
  /** Σ_r x_r x_rᵀ, [D, D] row-major. */
  cross: Float64Array;
}

/** A contiguous range of features, e.g. stream i's columns i·d … (i+1)·d − 1. */
export interface FeatureRange {
  offset: number;
  width: number;
}

export function emptyMoments(dim: number): Moments {
  return { dim, count: 0, sum: new Float64Array(dim), cross: new Float64Array(dim * dim) };
}

/** Adds rows x [rows, D] (row-major) to m. O(rows·D²): for small D or tests; big inputs batch it. */
export function addRows(m: Moments, x: ArrayLike<number>, rows: number): void {
  const D = m.dim;
  for (let r = 0; r < rows; r++) {
    const off = r * D;
    for (let a = 0; a < D; a++) {
      const xa = x[off + a] as number;
      m.sum[a] = (m.sum[a] as number) + xa;
      const row = a * D;
      for (let b = 0; b < D; b++) m.cross[row + b] = (m.cross[row + b] as number) + xa * (x[off + b] as number);
    }
  }
  m.count += rows;
}

export function mergeMoments(...parts: Moments[]): Moments {
  const first = parts[0];
  if (!first) throw new Error('mergeMoments needs at least one part');
  const out = emptyMoments(first.dim);
  for (const p of parts) {
    out.count += p.count;
    for (let i = 0; i < p.sum.length; i++) out.sum[i] = (out.sum[i] as number) + (p.sum[i] as number);
    for (let i = 0; i < p.cross.length; i++) out.cross[i] = (out.cross[i] as number) + (p.cross[i] as number);
  }
  return out;
}

/** Mean of the features in range r. */
export function meanOf(m: Moments, r: FeatureRange): Float64Array {
  const out = new Float64Array(r.width);
  for (let i = 0; i < r.width; i++) out[i] = (m.sum[r.offset + i] as number) / m.count;
  return out;
}

/**
 * Σ_r (x_r[a] − μa)(x_r[b] − μb)ᵀ over the rows of m, for ranges a and b and any centres μa, μb
 * (e.g. another split's means): Σxxᵀ − s μbᵀ − μa sᵀ + N μa μbᵀ. [a.width, b.width] row-major.
 */
export function centredCross(m: Moments, a: FeatureRange, b: FeatureRange, mu_a: Float64Array, mu_b: Float64Array): Float64Array {
  const out = new Float64Array(a.width * b.width);
  const D = m.dim;
  for (let i = 0; i < a.width; i++) {
    const si = m.sum[a.offset + i] as number;
    const mi = mu_a[i] as number;
    for (let j = 0; j < b.width; j++) {
      const sj = m.sum[b.offset + j] as number;
      const mj = mu_b[j] as number;
      out[i * b.width + j] = (m.cross[(a.offset + i) * D + b.offset + j] as number) - si * mj - mi * sj + m.count * mi * mj;
    }
  }
  return out;
}

/** The covariance-type block about m's own means (sums, not divided by N). */
export function scatter(m: Moments, a: FeatureRange, b: FeatureRange): Float64Array {
  return centredCross(m, a, b, meanOf(m, a), meanOf(m, b));
}
