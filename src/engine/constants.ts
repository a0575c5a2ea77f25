// Constant tensors built once per backend and kept for the life of the process: the causal mask,
// mHC-lite's permutation matrices. Built inside the forward pass they would be made again in
// every module of every step (on webgpu, a host-to-device upload each time) only to be freed.
import { tf, type Tensor } from './tf.ts';

type Backend = ReturnType<typeof tf.backend>;

/**
 * Keyed by the backend object, not its name: a constant lives in its backend's memory, and a
 * backend removed and registered again under the same name starts with an empty cache.
 */
const cache = new WeakMap<Backend, Map<string, Tensor>>();
/** Every constant, whatever its backend, for constantMemory and disposeConstants. */
const held = new Set<Tensor>();

/**
 * The tensor `build()` makes for `key` on the active backend: built at the first call per key and
 * backend, kept out of every tf.tidy, and returned as is afterwards. So tf.memory().numTensors
 * grows by one at the first forward that needs the constant and stays put from then on. Callers
 * must not dispose it; one that was disposed anyway is built again.
 *
 * `build` runs in its own tf.tidy; it should make the tensor from host values (tf.tensor) rather
 * than from ops, so that a first call under a gradient tape records nothing on it.
 */
export function constant(key: string, build: () => Tensor): Tensor {
  const backend = tf.backend();
  let byKey = cache.get(backend);
  if (!byKey) {
    byKey = new Map();
    cache.set(backend, byKey);
  }
  const kept = byKey.get(key);
  if (kept && !kept.isDisposed) return kept;
  const made = tf.keep(tf.tidy(build));
  byKey.set(key, made);
  held.add(made);
  return made;
}

/**
 * The part of tf.memory() that is these constants, on every backend: a test that counts tensors
 * across a first forward subtracts it, since that forward builds the constants it needs.
 */
export function constantMemory(): { numTensors: number; numBytes: number } {
  let numTensors = 0;
  let numBytes = 0;
  for (const t of held) {
    if (t.isDisposed) {
      held.delete(t);
      continue;
    }
    numTensors++;
    numBytes += t.size * tf.util.bytesPerElement(t.dtype);
  }
  return { numTensors, numBytes };
}

/** Frees every backend's constants; the next call of `constant` builds them again. */
export function disposeConstants(): void {
  for (const t of held) t.dispose();
  held.clear();
}
