// mHC's Sinkhorn projection, exp of `iters` alternating column and row normalisations of the
// logits in log space (docs/model.md), as one op. Composed of tfjs ops it is about 14 kernels per
// iteration on [B·T, n, n] tensors of a few thousand values, so with 20 iterations, 8 modules and
// the backward, mhc's training step ran some 7,000 kernels whose dispatch cost far more than their
// arithmetic (2.3× the step time of mHC-lite on wasm). On wasm the op is JavaScript loops over the
// host copy instead, with its hand-written backward; other backends keep the composite. Both
// normalise columns first and shift by the maximum before exp, as tf.logSumExp does.
import { tf, type Tensor } from '../tf.ts';

/** exp(R) projected towards doubly stochastic; logits [..., n, n], normalising axis −2 first. */
export function sinkhornOp(logits: Tensor, iters: number): Tensor {
  if (tf.getBackend() !== 'wasm') return sinkhornComposite(logits, iters);
  const n = logits.shape[logits.rank - 1] as number;
  if (logits.shape[logits.rank - 2] !== n) throw new Error(`sinkhorn: logits [${logits.shape}] are not square matrices`);
  const op = tf.customGrad(((x: Tensor) => {
    const states = sinkhornForward(x.dataSync() as Float32Array, n, iters);
    const out = states[states.length - 1] as Float32Array;
    return {
      value: tf.tensor(out, x.shape),
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
 * states[0] = the logits, states[k] = R after the k-th half-step (odd k: columns, even: rows), and
 * the last entry exp(R). Computed in float64 per matrix, stored in float32 like the tensors.
 */
function sinkhornForward(x: Float32Array, n: number, iters: number): Float32Array[] {
  const states: Float32Array[] = [x];
  let r = x;
  for (let k = 0; k < 2 * iters; k++) {
    r = normaliseLog(r, n, k % 2 === 0);
    states.push(r);
  }
  states.push(r.map(Math.exp));
  return states;
}

/** r − logΣexp(r) over each column (the sum runs over s in r[s][t]) or over each row. */
function normaliseLog(r: Float32Array, n: number, overColumns: boolean): Float32Array {
  const out = new Float32Array(r.length);
  const [step, lineStep] = overColumns ? [n, 1] : [1, n]; // stride within a line, between lines
  for (let base = 0; base < r.length; base += n * n) {
    for (let line = 0; line < n; line++) {
      const first = base + line * lineStep;
      let max = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < n; i++) max = Math.max(max, r[first + i * step] as number);
      let sum = 0;
      for (let i = 0; i < n; i++) sum += Math.exp((r[first + i * step] as number) - max);
      const lse = max + Math.log(sum);
      for (let i = 0; i < n; i++) out[first + i * step] = (r[first + i * step] as number) - lse;
    }
  }
  return out;
}

/**
 * Back through exp and each half-step y = x − LSE(x): ∂x = ∂y − softmax(x) · Σ ∂y over the line,
 * where softmax(x) = exp(y), the state after that half-step.
 */
function sinkhornBackward(states: Float32Array[], dy: Float32Array, n: number): Float32Array {
  const last = states.length - 1;
  const out = states[last] as Float32Array;
  let g = new Float64Array(dy.length);
  for (let i = 0; i < g.length; i++) g[i] = (dy[i] as number) * (out[i] as number);
  for (let k = last - 1; k >= 1; k--) {
    const y = states[k] as Float32Array;
    const overColumns = k % 2 === 1;
    const [step, lineStep] = overColumns ? [n, 1] : [1, n];
    const next = new Float64Array(g.length);
    for (let base = 0; base < g.length; base += n * n) {
      for (let line = 0; line < n; line++) {
        const first = base + line * lineStep;
        let sum = 0;
        for (let i = 0; i < n; i++) sum += g[first + i * step] as number;
        for (let i = 0; i < n; i++) {
          const at = first + i * step;
          next[at] = (g[at] as number) - Math.exp(y[at] as number) * sum;
        }
      }
    }
    g = next;
  }
  return Float32Array.from(g);
}
