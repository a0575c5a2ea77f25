// docs/metrics.md metrics of one module's captured per-token HC coefficients: token means and spread of
// A_m, A_r and B; read/write shares of the means and per token; identity distance, off-diagonal
// mass and Amax gains of the mean mixing matrix.
import type { Sublayer } from '../src/model/hooks.ts';
import { amaxGains, identityDistance, type Matrix, offDiagonalMass } from '../src/stats/mixing-metrics.ts';
import { summariseShares, toShares } from '../src/stats/stream-shares.ts';
import type { CoefficientData } from './load-site.ts';
import type { ModuleCoefficientDiagnostics, ShareStats, TokenSpread } from './results-schema.ts';

/** Mean and population standard deviation of each column of x [rows, width]. */
function columnStats(x: Float32Array | Float64Array, rows: number, width: number): { mean: number[]; std: number[] } {
  const sum = new Float64Array(width);
  const sq = new Float64Array(width);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < width; k++) {
      const v = x[r * width + k] as number;
      sum[k] = (sum[k] as number) + v;
      sq[k] = (sq[k] as number) + v * v;
    }
  }
  const mean = Array.from(sum, (s) => s / Math.max(rows, 1));
  const std = Array.from(sq, (s, k) => Math.sqrt(Math.max(s / Math.max(rows, 1) - (mean[k] as number) ** 2, 0)));
  return { mean, std };
}

const shareStats = (weights: number[]): ShareStats => {
  const s = summariseShares(weights);
  return { shares: s.shares, dominance: s.dominance, dominant: s.dominant, n_eff: s.nEff, n_eff_simpson: s.nEffSimpson };
};

/** Per-token shares of non-negative weights, then their mean and spread over tokens. */
function tokenShares(x: Float32Array, rows: number, n: number): TokenSpread {
  const shares = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) shares.set(toShares(x.subarray(r * n, (r + 1) * n)), r * n);
  return columnStats(shares, rows, n);
}

const toMatrix = (flat: number[], n: number): Matrix => Array.from({ length: n }, (_, s) => flat.slice(s * n, (s + 1) * n));

export function coefficientDiagnostics(c: CoefficientData, layer: number, module: Sublayer): ModuleCoefficientDiagnostics {
  const n = c.nStreams;
  const rows = c.rows;
  const read = columnStats(c.read, rows, n);
  const write = columnStats(c.write, rows, n);
  const mixing = columnStats(c.mixing, rows, n * n);
  const mixingMean = toMatrix(mixing.mean, n);
  let idTokens = 0;
  let offTokens = 0;
  for (let r = 0; r < rows; r++) {
    const a = toMatrix(Array.from(c.mixing.subarray(r * n * n, (r + 1) * n * n)), n);
    idTokens += identityDistance(a);
    offTokens += offDiagonalMass(a);
  }
  return {
    layer,
    module,
    index: 2 * layer + (module === 'mlp' ? 1 : 0),
    tokens: rows,
    read_mean: read.mean,
    read_std: read.std,
    mixing_mean: mixingMean,
    mixing_std: toMatrix(mixing.std, n),
    write_mean: write.mean,
    write_std: write.std,
    read: shareStats(read.mean),
    write: shareStats(write.mean),
    read_share_tokens: tokenShares(c.read, rows, n),
    write_share_tokens: tokenShares(c.write, rows, n),
    identity_distance: identityDistance(mixingMean),
    off_diagonal_mass: offDiagonalMass(mixingMean),
    identity_distance_token_mean: idTokens / Math.max(rows, 1),
    off_diagonal_mass_token_mean: offTokens / Math.max(rows, 1),
    amax: amaxGains(mixingMean),
  };
}
