// Cross-stream predictability (docs/metrics.md): ridge regression of block b on block a with an
// intercept, fitted and scored from moments alone. Per-sample objective
// (1/N)Σ‖(b−μb) − (a−μa)W‖² + λ‖W‖², λ = α·tr(Cov_a)/width_a so α is scale-free;
// R² = 1 − ΣSSE/ΣSST over the output features (scikit-learn's variance-weighted R²).
import { choleskySolve } from './cholesky.ts';
import { centredCross, type FeatureRange, meanOf, type Moments, scatter } from './moments.ts';

export interface RidgeFit {
  /** [a.width, b.width] row-major. */
  weights: Float64Array;
  muA: Float64Array;
  muB: Float64Array;
}

export function fitRidge(train: Moments, a: FeatureRange, b: FeatureRange, alpha: number): RidgeFit {
  const n = a.width;
  const aa = scatter(train, a, a);
  let trace = 0;
  for (let i = 0; i < n; i++) trace += aa[i * n + i] as number;
  // Σ-form normal equations: (AᵀA + N·λ·I) W = AᵀB.
  const ridge = alpha * (trace / n) + 1e-12 * Math.max(trace / n, 1e-30);
  for (let i = 0; i < n; i++) aa[i * n + i] = (aa[i * n + i] as number) + ridge;
  const weights = choleskySolve(aa, scatter(train, a, b), n, b.width);
  return { weights, muA: meanOf(train, a), muB: meanOf(train, b) };
}

/** R² of a fit on the rows of `test`, about test's own mean of b. */
export function ridgeR2(fit: RidgeFit, test: Moments, a: FeatureRange, b: FeatureRange): number {
  const AA = centredCross(test, a, a, fit.muA, fit.muA);
  const AB = centredCross(test, a, b, fit.muA, fit.muB);
  const BB = centredCross(test, b, b, fit.muB, fit.muB);
  const W = fit.weights;
  const n = a.width;
  const m = b.width;
  let sse = 0;
  for (let j = 0; j < m; j++) sse += BB[j * m + j] as number;
  // − 2 tr(Wᵀ AB) + tr(Wᵀ AA W)
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) sse -= 2 * (W[i * m + j] as number) * (AB[i * m + j] as number);
  for (let j = 0; j < m; j++) {
    for (let i = 0; i < n; i++) {
      let aw = 0;
      for (let k = 0; k < n; k++) aw += (AA[i * n + k] as number) * (W[k * m + j] as number);
      sse += (W[i * m + j] as number) * aw;
    }
  }
  const own = scatter(test, b, b);
  let sst = 0;
  for (let j = 0; j < m; j++) sst += own[j * m + j] as number;
  return sst > 0 ? 1 - sse / sst : 0;
}

/** α from a grid by R² on `val`, then refitted on train + val and scored on test. */
export function selectRidge(
  train: Moments, val: Moments, test: Moments, trainVal: Moments, a: FeatureRange, b: FeatureRange, alphas: readonly number[],
): { alpha: number; r2: number } {
  let best = { alpha: alphas[0] as number, r2: Number.NEGATIVE_INFINITY };
  for (const alpha of alphas) {
    const r2 = ridgeR2(fitRidge(train, a, b, alpha), val, a, b);
    if (r2 > best.r2) best = { alpha, r2 };
  }
  return { alpha: best.alpha, r2: ridgeR2(fitRidge(trainVal, a, b, best.alpha), test, a, b) };
}
