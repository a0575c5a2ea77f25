// The dense half of an SAE: pre-activations W_enc(x − b_dec) + b_enc as one plain matMul
// (the only O(B·d·m) product of a sparse-kind step), then the kind's activation as sparse codes.
import { tf, type Tensor } from '../src/engine/tf.ts';
import type { SaeParams } from './sae-params.ts';
import { addBias, jumpCodes, type SparseCodes, thresholdCodes, topkCodes } from './sparse-codes.ts';

export class DenseEncoder {
  private w: Tensor | null = null;

  constructor(private readonly p: SaeParams) {
    this.refresh();
  }

  /** Uploads W_enc [d, m] again; call after the parameters change. */
  refresh(): void {
    const { dIn: d, dSae: m, wEncT } = this.p;
    const wEnc = new Float32Array(d * m);
    // Transposed here, once per step: tfjs-wasm's transposed matMul is 10-20x slower.
    for (let i = 0; i < m; i++) {
      const r = i * d;
      for (let t = 0; t < d; t++) wEnc[t * m + i] = wEncT[r + t] as number;
    }
    this.w?.dispose();
    this.w = tf.tensor2d(wEnc, [d, m]);
  }

  /** x [rows, d] → encoder input xc = x − b_dec [rows, d] and pre-activations [rows, m]. */
  pre(x: Float32Array, rows: number): { xc: Float32Array; pre: Float32Array } {
    const { dIn: d, bDec } = this.p;
    const xc = new Float32Array(rows * d);
    for (let o = 0; o < xc.length; o += d) for (let t = 0; t < d; t++) xc[o + t] = (x[o + t] as number) - (bDec[t] as number);
    // Not through tf.tidy's return value: tidy walks a returned typed array element by element.
    const xt = tf.tensor2d(xc, [rows, d]);
    const pt = tf.matMul(xt, this.w as Tensor);
    const pre = pt.dataSync() as Float32Array;
    xt.dispose();
    pt.dispose();
    addBias(pre, this.p.bEnc);
    return { xc, pre };
  }

  dispose(): void {
    this.w?.dispose();
    this.w = null;
  }
}

/** Inference codes: TopK per token, BatchTopK's (and Matryoshka's) threshold θ (per token, no batch coupling), JumpReLU's θ_i, ReLU. */
export function activate(p: SaeParams, pre: Float32Array, rows: number): SparseCodes {
  switch (p.act.kind) {
    case 'topk':
      return topkCodes(pre, rows, p.dSae, p.act.k);
    case 'batchtopk':
    case 'matryoshka':
      return thresholdCodes(pre, rows, p.dSae, p.threshold ?? 0);
    case 'jumprelu':
      return jumpCodes(pre, rows, p.dSae, p.thresholds ?? new Float32Array(p.dSae));
    case 'relu':
      return thresholdCodes(pre, rows, p.dSae, 0);
  }
}
