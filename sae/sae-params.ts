// An SAE's parameters (docs/metrics.md): encoder f = act(W_enc (x − b_dec) + b_enc), decoder
// x̂ = W_dec f + b_dec, trained on inputs scaled by s so that E‖s·x‖² = d; the scale is
// folded back into the weights for saving, so saved SAEs act on raw activations.
import { rngFor } from '../src/engine/random.ts';
import { SAE_DEFAULTS, type SaeKind } from './config.ts';

export interface SaeParams {
  dIn: number;
  dSae: number;
  act: SaeKind;
  /** W_encᵀ, row-major [m, d]: row i reads latent i (rows make the sparse backward contiguous). */
  wEncT: Float32Array;
  /** [m, d], unit-norm rows while training. */
  wDec: Float32Array;
  bEnc: Float32Array;
  bDec: Float32Array;
  /** BatchTopK's (and Matryoshka's) inference threshold θ on f (unchanged by the input scale); null for other kinds. */
  threshold: number | null;
  /** JumpReLU: θ_i per latent [m] (unchanged by the input scale); null for other kinds. */
  thresholds: Float32Array | null;
  /** Input scale s: the SAE sees s·x. */
  scale: number;
}

/** Decoder rows Gaussian then unit norm; W_enc = W_decᵀ (Gao et al. 2024); biases zero. */
export function initSaeParams(dIn: number, dSae: number, act: SaeKind, seed: number): SaeParams {
  const rng = rngFor(seed, `sae:init:${dIn}x${dSae}`);
  const wDec = new Float32Array(dSae * dIn);
  for (let i = 0; i < wDec.length; i++) wDec[i] = rng.normal();
  normaliseRows(wDec, dIn);
  const threshold = act.kind === 'batchtopk' || act.kind === 'matryoshka' ? 0 : null;
  const thresholds = act.kind === 'jumprelu' ? new Float32Array(dSae).fill(SAE_DEFAULTS.threshold0) : null;
  return { dIn, dSae, act, wEncT: Float32Array.from(wDec), wDec, bEnc: new Float32Array(dSae), bDec: new Float32Array(dIn), threshold, thresholds, scale: 1 };
}

/** Rescales each row of a row-major [rows, d] matrix to unit L2 norm (zero rows stay zero). */
export function normaliseRows(w: Float32Array, d: number): void {
  for (let r = 0; r < w.length; r += d) {
    let s = 0;
    for (let t = 0; t < d; t++) s += (w[r + t] as number) ** 2;
    if (s === 0) continue;
    const inv = 1 / Math.sqrt(s);
    for (let t = 0; t < d; t++) w[r + t] = (w[r + t] as number) * inv;
  }
}

/**
 * Removes from each decoder-row gradient its component along the (unit) row, g ← g − (g·w)w:
 * the part that renormalisation would undo anyway (Gao et al.; Bricken et al. 2023).
 */
export function removeParallelGrad(g: Float32Array, w: Float32Array, d: number): void {
  for (let r = 0; r < w.length; r += d) {
    let dot = 0;
    for (let t = 0; t < d; t++) dot += (g[r + t] as number) * (w[r + t] as number);
    for (let t = 0; t < d; t++) g[r + t] = (g[r + t] as number) - dot * (w[r + t] as number);
  }
}

/** Weights for raw inputs, in SAELens' layout: W_enc [d, m], W_dec [m, d]. */
export interface SaeWeights {
  dIn: number;
  dSae: number;
  act: SaeKind;
  W_enc: Float32Array;
  W_dec: Float32Array;
  b_enc: Float32Array;
  b_dec: Float32Array;
  threshold: number | null;
  thresholds: Float32Array | null;
}

/**
 * Folds the input scale s back: the SAE computed f = act(W (s x − b) + c) and x̂ = (D f + b)/s,
 * so on raw x: W_enc = s·W, b_dec = b/s, W_dec = D/s, b_enc and θ unchanged.
 */
export function foldScale(p: SaeParams): SaeWeights {
  const { dIn: d, dSae: m, scale: s } = p;
  const W_enc = new Float32Array(d * m);
  for (let i = 0; i < m; i++) for (let t = 0; t < d; t++) W_enc[t * m + i] = s * (p.wEncT[i * d + t] as number);
  return {
    dIn: d,
    dSae: m,
    act: p.act,
    W_enc,
    W_dec: p.wDec.map((v) => v / s),
    b_enc: Float32Array.from(p.bEnc),
    b_dec: p.bDec.map((v) => v / s),
    threshold: p.threshold,
    thresholds: p.thresholds && Float32Array.from(p.thresholds),
  };
}

/** The inverse of foldScale with s = 1: raw weights as trainable parameters. */
export function paramsFromWeights(w: SaeWeights): SaeParams {
  const { dIn: d, dSae: m } = w;
  const wEncT = new Float32Array(m * d);
  for (let i = 0; i < m; i++) for (let t = 0; t < d; t++) wEncT[i * d + t] = w.W_enc[t * m + i] as number;
  return { dIn: d, dSae: m, act: w.act, wEncT, wDec: Float32Array.from(w.W_dec), bEnc: Float32Array.from(w.b_enc), bDec: Float32Array.from(w.b_dec), threshold: w.threshold, thresholds: w.thresholds && Float32Array.from(w.thresholds), scale: 1 };
}
