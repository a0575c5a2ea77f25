// Near-duplicate latents (docs/metrics.md): for each latent the largest cosine between its decoder
// row and any other latent's, max_{j ≠ i} cos(W_dec,i, W_dec,j); summarised as the mean and the
// fraction above 0.9. The Gram matrix is built in row blocks so memory stays O(block · m).
import { tf } from '../src/engine/tf.ts';
import type { DecoderSimilarity } from './results-schema.ts';

/** Cosine above which two latents count as near-duplicates. */
export const NEAR_DUPLICATE_COS = 0.9;
/** Rows of the Gram matrix per block. */
const BLOCK = 1024;

/** Per latent, the largest cosine to another latent's decoder row; W_dec row-major [m, d]. Zero rows get −1. */
export function maxCosines(wDec: Float32Array, m: number, d: number): Float32Array {
  const unit = new Float32Array(m * d);
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let t = 0; t < d; t++) s += (wDec[i * d + t] as number) ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let t = 0; t < d; t++) unit[i * d + t] = (wDec[i * d + t] as number) * inv;
  }
  const out = new Float32Array(m).fill(-1);
  if (m < 2) return out;
  const all = tf.tensor2d(unit, [m, d]);
  const allT = tf.transpose(all); // [d, m], once: transposed matMuls are slow on wasm
  try {
    for (let r0 = 0; r0 < m; r0 += BLOCK) {
      const rows = Math.min(BLOCK, m - r0);
      const gram = tf.tidy(() => tf.matMul(tf.slice(all, [r0, 0], [rows, d]), allT)); // [rows, m]
      const g = gram.dataSync() as Float32Array;
      gram.dispose();
      for (let a = 0; a < rows; a++) {
        const i = r0 + a;
        const norm = unit[i * d] !== 0 || rowNonZero(unit, i, d);
        if (!norm) continue;
        let best = -1;
        for (let j = 0; j < m; j++) if (j !== i && (g[a * m + j] as number) > best) best = g[a * m + j] as number;
        out[i] = best;
      }
    }
  } finally {
    all.dispose();
    allT.dispose();
  }
  return out;
}

export function decoderSimilarity(wDec: Float32Array, m: number, d: number): DecoderSimilarity {
  const cos = maxCosines(wDec, m, d);
  let sum = 0;
  let near = 0;
  for (const c of cos) {
    sum += c;
    if (c > NEAR_DUPLICATE_COS) near++;
  }
  return { mean_max_cos: sum / m, near_duplicate: near / m, threshold: NEAR_DUPLICATE_COS };
}

function rowNonZero(w: Float32Array, i: number, d: number): boolean {
  for (let t = 0; t < d; t++) if (w[i * d + t] !== 0) return true;
  return false;
}
