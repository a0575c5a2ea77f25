// mHC's Sinkhorn projection, exp of `iters` alternating column and row normalisations of the
// logits in log space (docs/model.md), as one op. Composed of tfjs ops it is about 14 kernels per
// iteration on [B·T, n, n] tensors of a few thousand values, so with 20 iterations, 8 modules and
// the backward, mhc's training step ran some 7,000 kernels whose dispatch cost far more than their
// arithmetic (2.3× the step time of mHC-lite on wasm). On wasm the op is JavaScript loops over the
// host copy instead, with its hand-written backward; other backends keep the composite. Both
// normalise columns first. On wasm the half-steps run on the softmaxes themselves (float64): one
// exp per entry, then divisions by line sums, which equal the log-space steps.
import { tf, type Tensor } from '../tf.ts';

/** exp(R) projected towards doubly stochastic; logits [..., n, n], normalising axis −2 first. */
export function sinkhornOp(logits: Tensor, iters: number): Tensor {
  if (tf.getBackend() !== 'wasm') return sinkhornComposite(logits, iters);
  const n = logits.shape[logits.rank - 1] as number;
  if (logits.shape[logits.rank - 2] !== n) throw new Error(`sinkhorn: logits [${logits.shape}] are not square matrices`);
  const op = tf.customGrad(((x: Tensor) => {
    const states = sinkhornForward(x.dataSync() as Float32Array, n, iters);
    return {
      value: tf.tensor(Float32Array.from(states[states.length - 1] as Float64Array), x.shape),
      gradFunc: (dy: Tensor) => tf.tensor(sinkhornBackward(states, dy.dataSync() as Float32Array, n), x.shape),
    };
  }) as never) as (x: Tensor) => Tensor;
  return op(logits);
}

/** The same projection in tfjs ops (every backend but wasm). */
export function sinkhornComposite(logits: Tensor, iters: number): Tensor {
  let r = logits;
  for (let i = 0; i < iters; i++) {
    r = tf.sub(r, tf.logSumExp(r, -2, true));
    r = tf.sub(r, tf.logSumExp(r, -1, true));
  }
  return tf.exp(r);
}

/**
 * The softmax of every half-step, E_k = exp(y_k) with y_k = x_k − LSE(x_k) over its lines (odd k:
 * columns, even: rows), in float64. Only the first needs exp: each later half-step's input is
 * log E_{k−1}, so its softmax is E_{k−1} divided by its line sums. exp(R) is the last E. Plain
 * loops over one buffer per state: this runs 40 half-steps on every token's n × n matrix.
 */
function sinkhornForward(x: Float32Array, n: number, iters: number): Float64Array[] {
  const nn = n * n;
  const first = new Float64Array(x.length);
  for (let base = 0; base < x.length; base += nn) {
    for (let t = 0; t < n; t++) {
      let max = Number.NEGATIVE_INFINITY;
      for (let i = base + t; i < base + nn; i += n) max = Math.max(max, x[i] as number);
      let sum = 0;
      for (let i = base + t; i < base + nn; i += n) {
        const e = Math.exp((x[i] as number) - max);
        first[i] = e;
        sum += e;
      }
      for (let i = base + t; i < base + nn; i += n) first[i] = (first[i] as number) / sum;
    }
  }
  const states = [first];
  for (let k = 1; k < 2 * iters; k++) {
    const prev = states[k - 1] as Float64Array;
    const next = new Float64Array(prev.length);
    const [step, lineStep] = k % 2 === 0 ? [n, 1] : [1, n]; // columns: entries n apart, lines 1 apart
    for (let base = 0; base < prev.length; base += nn) {
      for (let line = 0; line < n; line++) {
        const start = base + line * lineStep;
        const end = start + n * step;
        let sum = 0;
        for (let i = start; i < end; i += step) sum += prev[i] as number;
        const inv = 1 / sum;
        for (let i = start; i < end; i += step) next[i] = (prev[i] as number) * inv;
      }
    }
    states.push(next);
  }
  return states;
}

/**
 * Back through exp and each half-step y = x − LSE(x): ∂x = ∂y − softmax(x) · Σ ∂y over the line,
 * where softmax(x) = E_k, that half-step's state.
 */
function sinkhornBackward(states: Float64Array[], dy: Float32Array, n: number): Float32Array {
  const nn = n * n;
  const out = states[states.length - 1] as Float64Array;
  let g = new Float64Array(dy.length);
  let next = new Float64Array(dy.length);
  for (let i = 0; i < g.length; i++) g[i] = (dy[i] as number) * (out[i] as number);
  for (let k = states.length - 1; k >= 0; k--) {
    const E = states[k] as Float64Array;
    const [step, lineStep] = k % 2 === 0 ? [n, 1] : [1, n];
    for (let base = 0; base < g.length; base += nn) {
      for (let line = 0; line < n; line++) {
        const start = base + line * lineStep;
        const end = start + n * step;
        let sum = 0;
        for (let i = start; i < end; i += step) sum += g[i] as number;
        for (let i = start; i < end; i += step) next[i] = (g[i] as number) - (E[i] as number) * sum;
      }
    }
    [g, next] = [next, g];
  }
  return Float32Array.from(g);
}
