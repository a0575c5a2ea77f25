// Moments of the concatenated streams [H_0 … H_{n−1}] (D = n·d features) per split part, for
// CKA and ridge R². The O(rows·D²) second moments run as tfjs products over row blocks (float32
// within a block of a few thousand rows, float64 across blocks), after subtracting the mean
// of all rows so that centring later cancels nothing large.
import { tf } from '../src/engine/tf.ts';
import { emptyMoments, type Moments } from '../src/stats/moments.ts';

const BLOCK_ROWS = 2048; // float32 sums of 2048 products lose < 1e-4 relative; blocks stay ~2 MB at D = 256

/** Moments of parts 0, 1, 2 (train, val, test) of `part`; streams are [rows, d] each. */
export function streamMoments(streams: Float32Array[], d: number, part: Uint8Array, parts = 3): Moments[] {
  const n = streams.length;
  const D = n * d;
  const rows = part.length;
  const shift = new Float64Array(D);
  streams.forEach((s, i) => {
    for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) shift[i * d + j] = (shift[i * d + j] as number) + (s[r * d + j] as number);
  });
  for (let k = 0; k < D; k++) shift[k] = (shift[k] as number) / Math.max(rows, 1);
  const out = Array.from({ length: parts }, () => emptyMoments(D));
  for (let p = 0; p < parts; p++) {
    const m = out[p] as Moments;
    const idx: number[] = [];
    for (let r = 0; r < rows; r++) if (part[r] === p) idx.push(r);
    for (let b0 = 0; b0 < idx.length; b0 += BLOCK_ROWS) {
      const take = Math.min(BLOCK_ROWS, idx.length - b0);
      const block = new Float32Array(take * D);
      for (let t = 0; t < take; t++) {
        const r = idx[b0 + t] as number;
        streams.forEach((s, i) => {
          for (let j = 0; j < d; j++) {
            const v = (s[r * d + j] as number) - (shift[i * d + j] as number);
            block[t * D + i * d + j] = v;
            m.sum[i * d + j] = (m.sum[i * d + j] as number) + v;
          }
        });
      }
      const gram = tf.tidy(() => {
        const x = tf.tensor2d(block, [take, D]);
        return tf.matMul(tf.transpose(x), x); // [D, D]; an explicit transpose: wasm's transposed matMul is slow
      });
      const g = gram.dataSync();
      gram.dispose();
      for (let k = 0; k < D * D; k++) m.cross[k] = (m.cross[k] as number) + (g[k] as number);
      m.count += take;
    }
  }
  return out;
}
