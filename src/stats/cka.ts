// Linear CKA (Kornblith et al. 2019, Eq. 4 in feature space) between two feature blocks:
// CKA(X, Y) = ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F) with X and Y centred over the same rows.
import { type FeatureRange, type Moments, scatter } from './moments.ts';

function frobeniusSq(a: Float64Array): number {
  let s = 0;
  for (const v of a) s += v * v;
  return s;
}

/** From centred scatter blocks XᵀX, YᵀY and XᵀY (any consistent normalisation). */
export function ckaFromScatter(xx: Float64Array, yy: Float64Array, xy: Float64Array): number {
  const den = Math.sqrt(frobeniusSq(xx) * frobeniusSq(yy));
  return den > 0 ? frobeniusSq(xy) / den : 0;
}

/** Linear CKA between the feature ranges a and b of the rows summarised by m. */
export function linearCka(m: Moments, a: FeatureRange, b: FeatureRange): number {
  return ckaFromScatter(scatter(m, a, a), scatter(m, b, b), scatter(m, a, b));
}
