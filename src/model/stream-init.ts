// Expansion of the embedding into n streams (docs/model.md, §1.6): copies, learned stream scaling
// (LSS, the stream-collapse paper), a learned additive stream embedding, or fixed noise.
import { broadcastCopy } from '../engine/ops/broadcast-copy.ts';
import { tf, type Tensor } from '../engine/tf.ts';
import type { ModelConfig } from './config.ts';
import { param, type Params } from './params.ts';

/** h0: [B, T, d] → H⁰: [B, T, n, d]. */
export function expandStreams(p: Params, c: ModelConfig, h0: Tensor): Tensor {
  const [B, T, d] = h0.shape as [number, number, number];
  const n = c.nStreams;
  // Frac-connections split h into its m fractions instead of copying it (docs/model.md, `frac`).
  if (c.connection.kind === 'frac') return tf.reshape(h0, [B, T, n, d / n]); // [B, T, m, d/m]
  const h = tf.reshape(h0, [B, T, 1, d]);
  switch (c.streamInit.kind) {
    case 'copy':
      return broadcastCopy(h, [B, T, n, d]); // [B, T, n, d]
    case 'lss':
      return tf.mul(h, param(p, 'expand_stream.lss')); // [B, T, n, d]
    case 'noise':
      return tf.mul(h, param(p, 'expand_stream.noise')); // [B, T, n, d]
    case 'stream-embed':
      return tf.add(h, param(p, 'expand_stream.stream_embed')); // [B, T, n, d]
  }
}
