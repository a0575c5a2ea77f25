// Matryoshka SAE loss (Bussmann et al. 2025, arXiv 2503.17547): nested prefixes m_1 < … < m_J = m of
// the latents each reconstruct the input, x̂_j = b_dec + Σ_{i < m_j} f_i W_dec,i, and the loss is
// Σ_j Σ_b ‖x̂_j,b − x_b‖² / Σ‖x − x̄‖². A latent in group g (m_{g−1} ≤ i < m_g) appears in every
// prefix j ≥ g, so its gradient signal is the suffix sum Σ_{j ≥ g} (x̂_j − x).
import type { SaeParams } from './sae-params.ts';
import type { SparseCodes } from './sparse-codes.ts';
import { backwardSparse, decodeSparse, type SparseGrads } from './sparse-kernels.ts';

/** The codes of latents lo ≤ i < hi only. */
export function restrictCodes(c: SparseCodes, lo: number, hi: number): SparseCodes {
  const rowPtr = new Int32Array(c.rows + 1);
  const idx: number[] = [];
  const val: number[] = [];
  for (let b = 0; b < c.rows; b++) {
    for (let q = c.rowPtr[b] as number; q < (c.rowPtr[b + 1] as number); q++) {
      const i = c.idx[q] as number;
      if (i >= lo && i < hi) {
        idx.push(i);
        val.push(c.val[q] as number);
      }
    }
    rowPtr[b + 1] = idx.length;
  }
  return { rows: c.rows, rowPtr, idx: Int32Array.from(idx), val: Float32Array.from(val) };
}

/** x̂ in raw units from the latents i < size alone (a Matryoshka prefix), for codes of raw inputs. */
export function prefixReconstruction(p: SaeParams, codes: SparseCodes, size: number): Float32Array {
  const xhat = decodeSparse(restrictCodes(codes, 0, size), p.wDec, p.dIn, p.bDec, new Float32Array(codes.rows * p.dIn));
  const inv = 1 / p.scale;
  for (let i = 0; i < xhat.length; i++) xhat[i] = (xhat[i] as number) * inv;
  return xhat;
}

export interface MatryoshkaResult {
  /** Σ_j FVU_j. */
  loss: number;
  /** FVU_j per prefix; the last is the full dictionary's. */
  prefixFvu: number[];
  /** x̂_J − x [rows, d] of the full dictionary (AuxK's residual, negated). */
  err: Float32Array;
}

/**
 * Adds the gradients of Σ_j FVU_j into g (W_dec, W_encᵀ, b_enc through backwardSparse; b_dec
 * directly); x are the scaled inputs, xc = x − b_dec the encoder's input.
 */
export function matryoshkaBackward(codes: SparseCodes, x: Float32Array, xc: Float32Array, p: SaeParams, prefixes: readonly number[], variance: number, g: SparseGrads & { bDec: Float32Array }): MatryoshkaResult {
  const d = p.dIn;
  const n = codes.rows * d;
  const groups = prefixes.map((hi, j) => restrictCodes(codes, j === 0 ? 0 : (prefixes[j - 1] as number), hi));
  const xhat = new Float32Array(n);
  for (let o = 0; o < n; o += d) xhat.set(p.bDec, o);
  const part = new Float32Array(n);
  const errs: Float32Array[] = [];
  const prefixFvu: number[] = [];
  for (const group of groups) {
    decodeSparse(group, p.wDec, d, null, part);
    const e = new Float32Array(n);
    let se = 0;
    for (let t = 0; t < n; t++) {
      const v = (xhat[t] as number) + (part[t] as number);
      xhat[t] = v;
      const r = v - (x[t] as number);
      e[t] = r;
      se += r * r;
    }
    errs.push(e);
    prefixFvu.push(se / variance);
  }
  // Suffix sums, from the largest prefix down: S_g = Σ_{j ≥ g} e_j, then backward for group g.
  const suffix = new Float32Array(n);
  for (let j = groups.length - 1; j >= 0; j--) {
    const e = errs[j] as Float32Array;
    for (let t = 0; t < n; t++) suffix[t] = (suffix[t] as number) + (e[t] as number);
    const grad = suffix.map((s) => (2 * s) / variance);
    backwardSparse(groups[j] as SparseCodes, grad, xc, p.wDec, d, g);
    if (j === 0) for (let o = 0; o < n; o += d) for (let t = 0; t < d; t++) g.bDec[t] = (g.bDec[t] as number) + (grad[o + t] as number);
  }
  return { loss: prefixFvu.reduce((a, b) => a + b, 0), prefixFvu, err: errs.at(-1) as Float32Array };
}
