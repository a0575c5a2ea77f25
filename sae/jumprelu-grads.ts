// Gradients of the JumpReLU SAE loss (Rajamanoharan et al. 2024, arXiv 2407.14435, eqs. 10–13):
// (Σ_b ‖x̂_b − x_b‖² + λ Σ_b ‖f_b‖₀) / Σ‖x − x̄‖², f = z·H(z − θ), z = W_enc(x − b_dec) + b_enc.
// H has no useful gradient; straight-through estimators with the rectangle kernel K(u) = 1[|u| ≤ ½]:
//   ∂f/∂z = H(z − θ),   ∂f/∂θ = −(θ/ε)·K((z − θ)/ε),   ∂H(z − θ)/∂θ = −(1/ε)·K((z − θ)/ε),   ∂H/∂z = 0,
// with θ = exp(τ) trained through τ = log θ (the paper's pseudo-code). tfjs autodiff, dense as relu-grads.ts.
import { tf, type Tensor } from '../src/engine/tf.ts';
import { addGradients, firingResult, type ReluGradsResult } from './relu-grads.ts';
import type { SaeParams } from './sae-params.ts';

type TwoInputGrad = (z: Tensor, theta: Tensor, save: (saved: Tensor[]) => void) => { value: Tensor; gradFunc: (dy: Tensor, saved: Tensor[]) => Tensor[] };

/** tf.customGrad for a function of (z, θ); its declared type takes a rest parameter. */
function customGrad(f: TwoInputGrad): (z: Tensor, theta: Tensor) => Tensor {
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (z: Tensor, theta: Tensor) => Tensor;
}

export interface JumpGrads {
  wEncT: Float32Array;
  wDec: Float32Array;
  bEnc: Float32Array;
  bDec: Float32Array;
  /** ∂L/∂log θ [m]. */
  logTheta: Float32Array;
}

/** Adds the gradients of the JumpReLU loss at p (θ = p.thresholds) into `g`. */
export function jumpReluGrads(p: SaeParams, x: Float32Array, rows: number, variance: number, l0: number, bandwidth: number, g: JumpGrads): ReluGradsResult {
  const { dIn: d, dSae: m } = p;
  if (!p.thresholds) throw new Error('a JumpReLU SAE needs per-latent thresholds');
  const eps = bandwidth;
  const logTheta0 = p.thresholds.map(Math.log);
  let out: ReluGradsResult | undefined;
  // K((z − θ)/ε) as 0/1 [rows, m].
  const window = (z: Tensor, theta: Tensor) => tf.cast(tf.lessEqual(tf.abs(tf.sub(z, theta)), eps / 2), 'float32');
  const jump = customGrad((z, theta, save) => {
    const kept = tf.cast(tf.greater(z, theta), 'float32'); // [rows, m]
    save([z, theta, kept]);
    return {
      value: tf.mul(z, kept),
      gradFunc: (dy: Tensor, [zs, th, k]: Tensor[]) => [tf.mul(dy, k as Tensor), tf.sum(tf.mul(tf.mul(dy, window(zs as Tensor, th as Tensor)), tf.div(tf.neg(th as Tensor), eps)), 0)],
    };
  });
  const step = customGrad((z, theta, save) => {
    save([z, theta]);
    return {
      value: tf.cast(tf.greater(z, theta), 'float32'),
      gradFunc: (dy: Tensor, [zs, th]: Tensor[]) => [tf.zerosLike(zs as Tensor), tf.mul(tf.sum(tf.mul(dy, window(zs as Tensor, th as Tensor)), 0), -1 / eps)],
    };
  });
  // The result leaves through a closure: tf.tidy walks a returned typed array element by element.
  tf.tidy(() => {
    const xs = tf.tensor2d(x, [rows, d]);
    let fvu = 0;
    let fired: Tensor | undefined;
    const loss = (we: Tensor, wd: Tensor, be: Tensor, bd: Tensor, lt: Tensor): Tensor => {
      const theta = tf.exp(lt); // [m]
      const z = tf.add(tf.matMul(tf.sub(xs, bd), tf.transpose(we)), be); // [rows, m]
      const f = jump(z, theta); // [rows, m]
      const xhat = tf.add(tf.matMul(f, wd), bd); // [rows, d]
      const recon = tf.div(tf.sum(tf.square(tf.sub(xhat, xs))), variance); // []
      const sparsity = tf.div(tf.mul(l0, tf.sum(step(z, theta))), variance); // []
      fvu = recon.dataSync()[0] as number;
      fired = tf.keep(tf.sum(tf.cast(tf.greater(f, 0), 'float32'), 0)); // [m]
      return tf.add(recon, sparsity);
    };
    const inputs = [tf.tensor2d(p.wEncT, [m, d]), tf.tensor2d(p.wDec, [m, d]), tf.tensor1d(p.bEnc), tf.tensor1d(p.bDec), tf.tensor1d(logTheta0)];
    const gs = tf.grads((...a: Tensor[]) => loss(a[0] as Tensor, a[1] as Tensor, a[2] as Tensor, a[3] as Tensor, a[4] as Tensor))(inputs);
    addGradients(gs, [g.wEncT, g.wDec, g.bEnc, g.bDec, g.logTheta]);
    out = firingResult(fvu, fired as Tensor);
  });
  return out as ReluGradsResult;
}
