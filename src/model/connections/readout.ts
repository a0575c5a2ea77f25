// The readout of each connection kind (docs/model.md): the per-stream normalised terms that the
// ln_final hook sees, and how they become one d-wide vector per token before the unembedding.
import { tf, type Tensor } from '../../engine/tf.ts';
import type { ModelConfig } from '../config.ts';
import { layerNorm } from '../norms.ts';
import { param, type Params } from '../params.ts';
import { residualDualReadout } from './residual-dual.ts';

/**
 * H: [B, T, n, w] → [B, T, n, w]. ln_f per stream (HC family, AltUp's sub-blocks); over the
 * whole concatenated h for Frac (its fractions are one hidden state); x_a and ln_f(x_d) for ResiDual.
 */
export function readoutTerms(p: Params, c: ModelConfig, H: Tensor): Tensor {
  const weight = param(p, 'transformer.ln_f.weight');
  const bias = p.get('transformer.ln_f.bias');
  if (c.connection.kind === 'residual-dual') return residualDualReadout(p, H); // [B, T, 2, d]
  if (c.connection.kind === 'frac') {
    const [B, T, m, w] = H.shape as [number, number, number, number];
    return tf.reshape(layerNorm(tf.reshape(H, [B, T, m * w]), weight, bias), [B, T, m, w]); // [B, T, m, w]
  }
  return layerNorm(H, weight, bias); // [B, T, n, d]
}

/** The readout terms [B, T, n, w] → [B*T, d]: Frac concatenates its fractions, the rest sum streams. */
export function reduceTerms(c: ModelConfig, terms: Tensor): Tensor {
  const [B, T] = terms.shape as [number, number];
  if (c.connection.kind === 'frac') return tf.reshape(terms, [B * T, c.dModel]); // [B*T, d]
  return tf.reshape(tf.sum(terms, 2), [B * T, c.dModel]); // [B*T, d]
}

/**
 * Stream i's own term of the readout, [B, T, d], for the per-stream logit lens: ln_f(H_i) for
 * the kinds that normalise each stream (ResiDual: x_a as it is, ln_f(x_d)); for Frac, whose
 * readout normalises the whole concatenated h, ln_f of h with every other fraction zeroed.
 */
export function streamReadoutTerm(p: Params, c: ModelConfig, H: Tensor, i: number): Tensor {
  const [B, T, n, w] = H.shape as [number, number, number, number];
  if (c.connection.kind === 'frac') {
    const mask = tf.reshape(tf.oneHot(tf.tensor1d([i], 'int32'), n), [1, 1, n, 1]); // [1, 1, m, 1]
    return tf.reshape(readoutTerms(p, c, tf.mul(H, mask)), [B, T, n * w]); // [B, T, d]
  }
  return tf.squeeze(tf.slice(readoutTerms(p, c, H), [0, 0, i, 0], [-1, -1, 1, -1]), [2]); // [B, T, d]
}
