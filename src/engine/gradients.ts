// Gradients that replace tfjs' own where its version is correct but slow on every backend.
// Tile: tfjs sums dy tile by tile, one Slice and one Add per repetition (4,096 of each for one
// [1,1,4,5] → [4,128,4,5] tile, a third of a wasm training step on the small config); here dy
// is viewed as [reps₀, x₀, reps₁, x₁, …] and summed over the repetition axes in one reduction.
// Sum and Mean: tfjs multiplies dy by a ones tensor of x's full shape, filled in JavaScript at
// every call (on webgpu also uploaded); here dy is broadcast with a cached ones tensor, kept on
// the backend, over the reduced axes only.
import { broadcastCopy } from './ops/broadcast-copy.ts';
import { tf, type Tensor } from './tf.ts';

let registered = false;

/** Registers the replacements once per process; every backend uses them. */
export function registerFastGradients(): void {
  if (registered) return;
  registered = true;
  const warn = console.warn;
  console.warn = () => {}; // tfjs warns when a gradient is overridden; that is the point here
  try {
    tf.registerGradient({
      kernelName: 'Tile',
      inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved as [Tensor];
        const reps = (attrs as { reps: number[] }).reps;
        return { x: () => tileGradient(dy as Tensor, x.shape, reps) };
      },
    });
    tf.registerGradient({
      kernelName: 'Sum',
      inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved as [Tensor];
        return { x: () => spreadOverReduced(dy as Tensor, x.shape, (attrs as { axis: number | number[] }).axis) };
      },
    });
    tf.registerGradient({
      kernelName: 'Mean',
      inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved as [Tensor];
        const axes = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, x.shape);
        const count = axes.reduce((a, i) => a * (x.shape[i] as number), 1);
        return { x: () => tf.div(spreadOverReduced(dy as Tensor, x.shape, axes), count) };
      },
    });
  } finally {
    console.warn = warn;
  }
}

/** dy of a reduction over `axis` of a tensor of `shape`, repeated back over the reduced axes. */
function spreadOverReduced(dy: Tensor, shape: number[], axis: number | number[]): Tensor {
  const kept = shape.slice();
  for (const a of tf.util.parseAxisParam(axis, shape)) kept[a] = 1;
  return broadcastCopy(tf.reshape(dy, kept), shape);
}

/** ∂L/∂x of y = tile(x, reps): Σ over the copies, y[k·s + i] for every k along each axis. */
export function tileGradient(dy: Tensor, shape: number[], reps: number[]): Tensor {
  const split: number[] = [];
  const repAxes: number[] = [];
  shape.forEach((s, i) => {
    const r = reps[i] as number;
    if (r > 1) {
      repAxes.push(split.length);
      split.push(r);
    }
    split.push(s);
  });
  if (repAxes.length === 0) return tf.reshape(dy, shape);
  return tf.reshape(tf.sum(tf.reshape(dy, split), repAxes), shape);
}
