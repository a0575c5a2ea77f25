// Decoding and backpropagating sparse codes row by row: with k ≪ m non-zeros per token these
// cost O(B·k·d) instead of the O(B·m·d) of a dense product with the mostly-zero code matrix.
import { simdKernels } from './simd-kernels.ts';
import type { SparseCodes } from './sparse-codes.ts';

/** out[b] = bias + Σ_j val_bj · W[idx_bj]; W row-major [m, d], out [rows, d]. */
export function decodeSparse(c: SparseCodes, W: Float32Array, d: number, bias: Float32Array | null, out: Float32Array): Float32Array {
  const { rowPtr, idx, val } = c;
  const k = simdKernels();
  if (k && d % 4 === 0) {
    // Layout in the kernels' memory (floats): W [m·d] | out [rows·d].
    const at = W.length;
    k.reserve(at + c.rows * d);
    const f = k.f32();
    f.set(W, 0);
    for (let b = 0; b < c.rows; b++) {
      const o = at + b * d;
      if (bias) f.set(bias, o);
      else f.fill(0, o, o + d);
      for (let p = rowPtr[b] as number; p < (rowPtr[b + 1] as number); p++) k.axpy(4 * o, 4 * (idx[p] as number) * d, val[p] as number, d >> 2);
    }
    out.set(f.subarray(at, at + c.rows * d));
    return out;
  }
  for (let b = 0; b < c.rows; b++) {
    const o = b * d;
    if (bias) out.set(bias, o);
    else out.fill(0, o, o + d);
    for (let p = rowPtr[b] as number; p < (rowPtr[b + 1] as number); p++) {
      const a = val[p] as number;
      const r = (idx[p] as number) * d;
      for (let t = 0; t < d; t++) out[o + t] = (out[o + t] as number) + a * (W[r + t] as number);
    }
  }
  return out;
}

export interface SparseGrads {
  /** [m, d] */
  wDec: Float32Array;
  /** [m, d]: the encoder kept as rows, W_encᵀ */
  wEncT: Float32Array;
  /** [m] */
  bEnc: Float32Array;
}

/**
 * Backward of x̂_b = Σ_j f_bj W_dec[i_j] with f = act(W_encᵀ[i]·xc_b + b_enc[i]), for the
 * selected (positive) latents, whose activation has slope 1:
 *   ∂W_dec[i] += f_bi g_b,   δ_bi = g_b · W_dec[i],   ∂W_encᵀ[i] += δ_bi xc_b,   ∂b_enc[i] += δ_bi.
 * g is ∂L/∂x̂ [rows, d]; xc is the encoder input x − b_dec [rows, d].
 */
export function backwardSparse(c: SparseCodes, g: Float32Array, xc: Float32Array, wDec: Float32Array, d: number, grads: SparseGrads): void {
  const { rowPtr, idx, val } = c;
  const { wDec: gDec, wEncT: gEnc, bEnc: gb } = grads;
  const k = simdKernels();
  if (k && d % 4 === 0) {
    // Layout (floats): W_dec | ∂W_dec | ∂W_encᵀ (each [m·d]) | g | xc (each [rows·d]).
    const md = wDec.length;
    const rd = c.rows * d;
    k.reserve(3 * md + 2 * rd);
    const f = k.f32();
    f.set(wDec, 0);
    f.set(gDec, md);
    f.set(gEnc, 2 * md);
    f.set(g.subarray(0, rd), 3 * md);
    f.set(xc.subarray(0, rd), 3 * md + rd);
    const n4 = d >> 2;
    for (let b = 0; b < c.rows; b++) {
      const o = 4 * (3 * md + b * d);
      const ox = o + 4 * rd;
      for (let p = rowPtr[b] as number; p < (rowPtr[b + 1] as number); p++) {
        const i = idx[p] as number;
        const r = 4 * i * d;
        const delta = k.dot(o, r, n4);
        k.axpy2(4 * md + r, o, val[p] as number, 8 * md + r, ox, delta, n4);
        gb[i] = (gb[i] as number) + delta;
      }
    }
    gDec.set(f.subarray(md, 2 * md));
    gEnc.set(f.subarray(2 * md, 3 * md));
    return;
  }
  for (let b = 0; b < c.rows; b++) {
    const o = b * d;
    for (let p = rowPtr[b] as number; p < (rowPtr[b + 1] as number); p++) {
      const i = idx[p] as number;
      const a = val[p] as number;
      const r = i * d;
      let delta = 0;
      for (let t = 0; t < d; t++) delta += (g[o + t] as number) * (wDec[r + t] as number);
      for (let t = 0; t < d; t++) {
        gDec[r + t] = (gDec[r + t] as number) + a * (g[o + t] as number);
        gEnc[r + t] = (gEnc[r + t] as number) + delta * (xc[o + t] as number);
      }
      gb[i] = (gb[i] as number) + delta;
    }
  }
}

/**
 * The encoder's share of ∂L/∂b_dec: xc = x − b_dec, so ∂b_dec −= Σ_i ∂b_enc[i] W_encᵀ[i]
 * (Σ_b δ_bi is exactly ∂b_enc[i]); one pass over [m, d] instead of one per non-zero.
 */
export function encoderBiasGrad(gbEnc: Float32Array, wEncT: Float32Array, d: number, gbDec: Float32Array): void {
  const m = gbEnc.length;
  for (let i = 0; i < m; i++) {
    const s = gbEnc[i] as number;
    if (s === 0) continue;
    const r = i * d;
    for (let t = 0; t < d; t++) gbDec[t] = (gbDec[t] as number) - s * (wEncT[r + t] as number);
  }
}
