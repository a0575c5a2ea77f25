// The one TensorFlow.js instance every module uses. Loaded through require because the
// union package's Node bundle is what registers the gradients (tfjs-core alone has none).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export type Tf = typeof import('@tensorflow/tfjs');
export type Tensor = import('@tensorflow/tfjs').Tensor;
export type Variable = import('@tensorflow/tfjs').Variable;
export type Rank = import('@tensorflow/tfjs').Rank;

export const tf: Tf = require('@tensorflow/tfjs') as Tf;
export type Scalar = import('@tensorflow/tfjs').Scalar;

/** Overwrites a variable's values with `data` (its shape's size, row-major). */
export function assignValues(target: Variable, data: Float32Array): void {
  const t = tf.tensor(data, target.shape);
  target.assign(t);
  t.dispose();
}

/**
 * A variable that holds the only reference to its data: tf.variable(x) shares x's buffer, and
 * kernels that update variables in place (the fused webgpu optimizer) need sole ownership.
 */
export function ownedVariable(initial: Tensor, trainable: boolean): Variable {
  const v = tf.variable(initial, trainable);
  initial.dispose();
  return v;
}
