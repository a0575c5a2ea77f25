// A tensor's values in an array that the caller owns outright, so that its buffer may be
// transferred to a worker thread: the wasm backend's dataSync already copies out of its heap;
// the cpu backend returns its own storage and webgpu its cache of the values, which are copied.
import { type Tensor, tf } from './tf.ts';

export function readOwned(x: Tensor): Float32Array {
  const v = x.dataSync() as Float32Array;
  const whole = v.byteOffset === 0 && v.byteLength === v.buffer.byteLength;
  return tf.getBackend() === 'wasm' && whole ? v : v.slice();
}
