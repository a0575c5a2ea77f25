// Shared by the model tests: tiny configs of every kind, parameters moved off their init so
// that every path carries signal (as the parity fixtures do), and seeded token batches.
import { rngFor } from '../../src/engine/random.ts';
import { tf, type Tensor } from '../../src/engine/tf.ts';
import { type Connection, MODEL_DEFAULTS, type ModelConfig, type StreamInit, validateModelConfig } from '../../src/model/config.ts';
import type { Params } from '../../src/model/params.ts';

/** vocab 16, d 8, 2 heads, 2 layers, block 8: a forward takes milliseconds on the cpu backend. */
export function tinyConfig(connection: Connection, nStreams: number, streamInit: StreamInit = { kind: 'copy' }): ModelConfig {
  return validateModelConfig({
    ...MODEL_DEFAULTS,
    vocabSize: 16,
    blockSize: 8,
    nLayers: 2,
    nHeads: 2,
    dModel: 8,
    nStreams,
    connection,
    streamInit,
  });
}

/** One config per connection kind and stream init, named for test titles. */
export const KINDS: readonly { name: string; config: ModelConfig }[] = [
  { name: 'residual', config: tinyConfig({ kind: 'residual' }, 1) },
  { name: 'hc static', config: tinyConfig({ kind: 'hc', dynamic: false, dynamicNorm: 'rms' }, 4) },
  { name: 'hc dynamic rms', config: tinyConfig({ kind: 'hc', dynamic: true, dynamicNorm: 'rms' }, 3) },
  { name: 'hc dynamic layer', config: tinyConfig({ kind: 'hc', dynamic: true, dynamicNorm: 'layer' }, 3) },
  { name: 'mhc', config: tinyConfig({ kind: 'mhc', sinkhornIters: 20 }, 3) },
  { name: 'mhc-lite', config: tinyConfig({ kind: 'mhc-lite' }, 3) },
  { name: 'mhc-lite lss', config: tinyConfig({ kind: 'mhc-lite' }, 3, { kind: 'lss', center: 0.6 }) },
  { name: 'mhc-lite stream-embed', config: tinyConfig({ kind: 'mhc-lite' }, 3, { kind: 'stream-embed' }) },
  { name: 'mhc-lite noise', config: tinyConfig({ kind: 'mhc-lite' }, 3, { kind: 'noise', sigma: 0.5 }) },
];

const SCALES = /\.(dynamic_alpha_scale|dynamic_beta_scale|pre_branch_scale|residual_scale|h_post_scale)$/;

/**
 * Moves every parameter off its init, like the parity fixtures: dynamic scales to U(0.3, 1),
 * the −8 mixing logits (A_r ≈ I) to N(−1, 1), dynamic weights N(0, 0.6/√rows), the rest
 * + N(0, 0.1). At init many gradients are exactly zero (zero dynamic weights, saturated logits).
 */
export function perturb(params: Params, seed: number): void {
  for (const [name, v] of params) {
    if (!v.trainable) continue;
    const rng = rngFor(seed, `perturb:${name}`);
    const x = v.dataSync().slice() as Float32Array;
    const rows = v.shape[0] ?? 1;
    for (let i = 0; i < x.length; i++) {
      const cur = x[i] as number;
      if (SCALES.test(name)) x[i] = 0.3 + 0.7 * rng.next();
      else if (name.endsWith('static_alpha') && cur === -8) x[i] = -1 + rng.normal();
      else if (name.endsWith('static_alpha')) x[i] = cur + 0.3 * rng.normal();
      else if (/dynamic_(alpha|beta)_fn$/.test(name)) x[i] = cur + (0.6 / Math.sqrt(rows)) * rng.normal();
      else x[i] = cur + 0.1 * rng.normal();
    }
    tf.tidy(() => v.assign(tf.tensor(x, v.shape, 'float32')));
  }
}

/** Seeded int32 tokens [B, T] in [0, vocab). */
export function randomTokens(seed: number, B: number, T: number, vocab: number): Tensor {
  const rng = rngFor(seed, 'tokens');
  return tf.tensor2d(Int32Array.from({ length: B * T }, () => rng.int(vocab)), [B, T], 'int32');
}

/** Two random windows of blockSize + 1 tokens split into inputs x and next-token targets y ([2, blockSize] each). */
export function randomBatch(c: ModelConfig, seed: number): { x: Tensor; y: Tensor } {
  const w = randomTokens(seed, 2, c.blockSize + 1, c.vocabSize);
  const out = { x: tf.slice(w, [0, 0], [2, c.blockSize]), y: tf.slice(w, [0, 1], [2, c.blockSize]) };
  w.dispose();
  return out;
}

/** Largest |a − b| over two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}
