// The token-embedding lookup wte[ids] as one op: tf.gather, whose gradient (a scatter-add of the
// rows of dy into a zero [vocab, d]) tfjs computes with UnsortedSegmentSum. tfjs-wasm has no
// kernel for that, so on wasm the op carries its own gradient, the same sum written in JavaScript.
import { tf, type Tensor } from '../tf.ts';

/**
 * ∂L/∂wte[v] = Σ_{i : ids[i] = v} dy[i], summed in the order of the ids (as the cpu kernel does);
 * dy: [...ids, d] → [vocab, d]. The ids and dy are read back to the host: on wasm that is a copy
 * out of the module's heap, not a device transfer.
 */
function scatterRows(dy: Tensor, ids: Tensor, vocab: number, d: number): Tensor {
  const g = new Float32Array(vocab * d);
  const dyv = dy.dataSync();
  const idv = ids.dataSync();
  for (let i = 0; i < idv.length; i++) {
    const row = (idv[i] as number) * d;
    for (let j = 0; j < d; j++) g[row + j] = (g[row + j] as number) + (dyv[i * d + j] as number);
  }
  return tf.tensor(g, [vocab, d]);
}

/** wte[ids]: wte [vocab, d] and int32 ids [...] → [..., d], with its gradient on every backend. */
export function embeddingLookup(wte: Tensor, ids: Tensor): Tensor {
  if (tf.getBackend() !== 'wasm') return tf.gather(wte, ids);
  const [vocab, d] = wte.shape as [number, number];
  // ids are not an argument of the custom gradient: they are integers and get none.
  const lookup = tf.customGrad((w) => ({
    value: tf.gather(w as Tensor, ids),
    gradFunc: (dy: Tensor) => scatterRows(dy, ids, vocab, d),
  }));
  return lookup(wte);
}
