// Token embedding lookup. tfjs-wasm has no kernel for gather's gradient (UnsortedSegmentSum),
// so on wasm the backward pass scatters the gradient in JavaScript instead.
import { tf, type Tensor } from '../engine/tf.ts';

/** wte[ids]: [vocab, d] and int32 [...] → [..., d]. */
export function embed(wte: Tensor, ids: Tensor): Tensor {
  if (tf.getBackend() !== 'wasm') return tf.gather(wte, ids);
  const [vocab, d] = wte.shape as [number, number];
  const lookup = tf.customGrad((w) => {
    const value = tf.gather(w as Tensor, ids);
    const gradFunc = (dy: Tensor) => {
      const g = new Float32Array(vocab * d);
      const dyv = dy.dataSync();
      const idv = ids.dataSync();
      for (let i = 0; i < idv.length; i++) {
        const row = (idv[i] as number) * d;
        for (let j = 0; j < d; j++) g[row + j] = (g[row + j] as number) + (dyv[i * d + j] as number);
      }
      return tf.tensor(g, [vocab, d]);
    };
    return { value, gradFunc };
  });
  return lookup(wte);
}
