// Gradients of the ReLU SAE loss FVU + λ·Σ_b Σ_i f_bi ‖W_dec,i‖ / Σ‖x − x̄‖² (Anthropic's
// April 2024 form, decoder-norm-weighted L1) by tfjs autodiff: codes are dense early in
// training (about half the latents fire at init), so the sparse kernels would not pay.
import { tf, type Tensor } from '../src/engine/tf.ts';
import type { SaeParams } from './sae-params.ts';

export interface ReluGradsResult {
  fvu: number;
  /** Per latent: tokens of this batch on which it fired. */
  fired: Float32Array;
  firedTotal: number;
}

/** Adds the gradients into `g` (W_encᵀ [m, d], W_dec [m, d], b_enc [m], b_dec [d]). */
export function reluGrads(
  p: SaeParams,
  x: Float32Array,
  rows: number,
  variance: number,
  l1: number,
  g: { wEncT: Float32Array; wDec: Float32Array; bEnc: Float32Array; bDec: Float32Array },
): ReluGradsResult {
  const { dIn: d, dSae: m } = p;
  let out: ReluGradsResult | undefined;
  // The result leaves through a closure: tf.tidy walks a returned typed array element by element.
  tf.tidy(() => {
    const xs = tf.tensor2d(x, [rows, d]);
    const wEncT = tf.tensor2d(p.wEncT, [m, d]);
    const wDec = tf.tensor2d(p.wDec, [m, d]);
    const bEnc = tf.tensor1d(p.bEnc);
    const bDec = tf.tensor1d(p.bDec);
    let fvu = 0;
    let fired: Tensor | undefined;
    const loss = (we: Tensor, wd: Tensor, be: Tensor, bd: Tensor): Tensor => {
      const f = tf.relu(tf.add(tf.matMul(tf.sub(xs, bd), tf.transpose(we)), be)); // [rows, m]
      const xhat = tf.add(tf.matMul(f, wd), bd); // [rows, d]
      const recon = tf.div(tf.sum(tf.square(tf.sub(xhat, xs))), variance); // []
      const norms = tf.sqrt(tf.sum(tf.square(wd), 1)); // [m]
      const sparsity = tf.div(tf.mul(l1, tf.sum(tf.mul(f, norms))), variance); // []
      fvu = recon.dataSync()[0] as number;
      fired = tf.keep(tf.sum(tf.cast(tf.greater(f, 0), 'float32'), 0)); // [m]
      return tf.add(recon, sparsity);
    };
    const gs = tf.grads((...a: Tensor[]) => loss(a[0] as Tensor, a[1] as Tensor, a[2] as Tensor, a[3] as Tensor))([wEncT, wDec, bEnc, bDec]);
    const targets = [g.wEncT, g.wDec, g.bEnc, g.bDec];
    gs.forEach((t, k) => {
      const src = t.dataSync() as Float32Array;
      const dst = targets[k] as Float32Array;
      for (let i = 0; i < dst.length; i++) dst[i] = (dst[i] as number) + (src[i] as number);
    });
    const firedData = Float32Array.from((fired as Tensor).dataSync());
    (fired as Tensor).dispose();
    let firedTotal = 0;
    for (const n of firedData) firedTotal += n;
    out = { fvu, fired: firedData, firedTotal };
  });
  return out as ReluGradsResult;
}
