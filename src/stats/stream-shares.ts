// How concentrated the streams are (docs/metrics.md): shares that sum to one, their dominance and
// effective number N_eff = exp(H(s)) (entropy form) or 1/Σ s_i² (inverse Simpson).

export interface ShareSummary {
  shares: number[];
  /** max_i s_i */
  dominance: number;
  /** argmax_i s_i */
  dominant: number;
  /** exp(−Σ s_i log s_i) */
  nEff: number;
  /** 1 / Σ s_i² */
  nEffSimpson: number;
}

/** Normalises non-negative weights to shares; all-zero weights give uniform shares. */
export function toShares(weights: ArrayLike<number>): number[] {
  const w = Array.from(weights, (x) => Math.max(0, x));
  const total = w.reduce((a, b) => a + b, 0);
  return total > 0 ? w.map((x) => x / total) : w.map(() => 1 / w.length);
}

export function summariseShares(weights: ArrayLike<number>): ShareSummary {
  const shares = toShares(weights);
  let dominant = 0;
  shares.forEach((s, i) => {
    if (s > (shares[dominant] as number)) dominant = i;
  });
  const entropy = -shares.reduce((a, s) => (s > 0 ? a + s * Math.log(s) : a), 0);
  const simpson = shares.reduce((a, s) => a + s * s, 0);
  return { shares, dominance: shares[dominant] as number, dominant, nEff: Math.exp(entropy), nEffSimpson: 1 / simpson };
}
