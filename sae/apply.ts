// Running a trained SAE on raw activations: codes f(x) and reconstructions x̂(x), with the
// input scale applied on the way in and undone on the way out.
import { activate, DenseEncoder } from './encoder.ts';
import type { SaeParams } from './sae-params.ts';
import type { SparseCodes } from './sparse-codes.ts';
import { decodeSparse } from './sparse-kernels.ts';

/** Rows per encoder call: bounds the [rows, m] pre-activation buffer. */
const CHUNK = 4096;

export class SaeRunner {
  private readonly enc: DenseEncoder;

  constructor(readonly p: SaeParams) {
    this.enc = new DenseEncoder(p);
  }

  /** Codes of raw rows x [rows, d] (in the scaled units the SAE was trained in). */
  encode(x: Float32Array, rows: number): SparseCodes {
    const d = this.p.dIn;
    const parts: SparseCodes[] = [];
    for (let r0 = 0; r0 < rows; r0 += CHUNK) {
      const n = Math.min(CHUNK, rows - r0);
      const xs = x.subarray(r0 * d, (r0 + n) * d).map((v) => v * this.p.scale);
      parts.push(activate(this.p, this.enc.pre(xs, n).pre, n));
    }
    return concatCodes(parts);
  }

  /** x̂ for raw rows, in raw units. */
  reconstruct(x: Float32Array, rows: number): { codes: SparseCodes; xhat: Float32Array } {
    const codes = this.encode(x, rows);
    const xhat = decodeSparse(codes, this.p.wDec, this.p.dIn, this.p.bDec, new Float32Array(rows * this.p.dIn));
    const inv = 1 / this.p.scale;
    for (let i = 0; i < xhat.length; i++) xhat[i] = (xhat[i] as number) * inv;
    return { codes, xhat };
  }

  dispose(): void {
    this.enc.dispose();
  }
}

export function concatCodes(parts: SparseCodes[]): SparseCodes {
  if (parts.length === 1) return parts[0] as SparseCodes;
  const rows = parts.reduce((a, c) => a + c.rows, 0);
  const total = parts.reduce((a, c) => a + (c.rowPtr[c.rows] as number), 0);
  const rowPtr = new Int32Array(rows + 1);
  const idx = new Int32Array(total);
  const val = new Float32Array(total);
  let r = 0;
  let w = 0;
  for (const c of parts) {
    const n = c.rowPtr[c.rows] as number;
    idx.set(c.idx.subarray(0, n), w);
    val.set(c.val.subarray(0, n), w);
    for (let b = 1; b <= c.rows; b++) rowPtr[r + b] = w + (c.rowPtr[b] as number);
    r += c.rows;
    w += n;
  }
  return { rows, rowPtr, idx, val };
}
