// A float32 tensor's values copied into an array the caller gives, so that a reader of many
// batches can reuse its arrays: on the wasm backend straight from the heap, with no array made on
// the way (dataSync would allocate one per read); elsewhere through dataSync.
import { type Tensor, tf } from './tf.ts';

/** The wasm backend's view of a tensor's data in its heap (a public method of BackendWasm). */
interface HeapBackend {
  typedArrayFromHeap(t: Tensor): Float32Array;
}

export function readInto(x: Tensor, into: Float32Array): Float32Array {
  if (x.dtype !== 'float32' || into.length !== x.size) {
    throw new Error(`readInto: a ${x.dtype} tensor of ${x.size} values does not fit a Float32Array of ${into.length}`);
  }
  into.set(tf.getBackend() === 'wasm' ? (tf.backend() as unknown as HeapBackend).typedArrayFromHeap(x) : (x.dataSync() as Float32Array));
  return into;
}
