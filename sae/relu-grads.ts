// Gradients of the ReLU SAE loss FVU + λ·Σ_b Σ_i f_bi w_i / Σ‖x − x̄‖², w_i = ‖W_dec,i‖ (Anthropic's
// April 2024 form) or, for the crosscoder penalty on n stream blocks, w_i = Σ_s ‖W_dec[i, block s]‖
// (Lindsey et al. 2024), by tfjs autodiff: codes are dense early in training, so sparse kernels would not pay.
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
  act: { l1: number; streamBlocks?: number },
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
      const blocks = act.streamBlocks ?? 1;
      const norms = tf.sum(tf.sqrt(tf.sum(tf.square(tf.reshape(wd, [m, blocks, d / blocks])), 2)), 1); // [m]
      const sparsity = tf.div(tf.mul(act.l1, tf.sum(tf.mul(f, norms))), variance); // []
      fvu = recon.dataSync()[0] as number;
      fired = tf.keep(tf.sum(tf.cast(tf.greater(f, 0), 'float32'), 0)); // [m]
      return tf.add(recon, sparsity);
    };
    const gs = tf.grads((...a: Tensor[]) => loss(a[0] as Tensor, a[1] as Tensor, a[2] as Tensor, a[3] as Tensor))([wEncT, wDec, bEnc, bDec]);
    addGradients(gs, [g.wEncT, g.wDec, g.bEnc, g.bDec]);
    out = firingResult(fvu, fired as Tensor);
  });
  return out as ReluGradsResult;
}

/** Adds each gradient tensor's values into its host array, in order. */
export function addGradients(gs: readonly Tensor[], targets: readonly Float32Array[]): void {
  gs.forEach((t, k) => {
    const src = t.dataSync() as Float32Array;
    const dst = targets[k] as Float32Array;
    for (let i = 0; i < dst.length; i++) dst[i] = (dst[i] as number) + (src[i] as number);
  });
}

/** The batch's FVU with its per-latent firing counts `fired` [m] (kept by the caller; disposed here). */
export function firingResult(fvu: number, fired: Tensor): ReluGradsResult {
  const counts = Float32Array.from(fired.dataSync());
  fired.dispose();
  let firedTotal = 0;
  for (const n of counts) firedTotal += n;
  return { fvu, fired: counts, firedTotal };
}
