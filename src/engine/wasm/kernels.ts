// Our WebAssembly kernels (SIMD), run in tfjs-wasm's own memory: arguments are byte addresses in
// its heap and sizes, results are written into tensors tfjs has allocated (tfjs-kernels.ts). The
// kernels themselves: kernels/products.ts, kernels/elementwise.ts and kernels/norms.ts.
import { assemble } from './assemble.ts';
import { adamw, copyRuns, geluBackward, geluForward, sumMiddle, sumSquares } from './kernels/elementwise.ts';
import { layerNormBackward, layerNormForward, rmsNorm, rmsNormGrad } from './kernels/norms.ts';
import { gemmNN, mixNN, mixNT } from './kernels/products.ts';

export interface Kernels {
  mixNN(a: number, b: number, c: number, batch: number, m: number, k: number, n: number, rsA: number, csA: number, bsA: number): void;
  mixNT(a: number, b: number, c: number, batch: number, m: number, n: number, k: number): void;
  gemmNN(a: number, b: number, c: number, batch: number, m: number, k: number, n: number, rsA: number, csA: number, bsA: number): void;
  sumMiddle(x: number, out: number, outer: number, mid: number, inner: number): void;
  copyRuns(src: number, dst: number, count: number, run: number, srcStride: number, dstStride: number): void;
  geluForward(x: number, y: number, count: number): void;
  geluBackward(x: number, dy: number, count: number, dx: number): void;
  adamw(p: number, m: number, v: number, g: number, count: number, coef: number, decay: number, beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number, sqrtBc2: number, eps: number, stepSize: number): void;
  sumSquares(x: number, count: number, out: number): void;
  layerNorm(x: number, w: number, b: number, y: number, rows: number, D: number): void;
  layerNormNoBias(x: number, w: number, y: number, rows: number, D: number): void;
  layerNormGrad(x: number, w: number, dy: number, dx: number, dw: number, db: number, rows: number, D: number): void;
  layerNormGradNoBias(x: number, w: number, dy: number, dx: number, dw: number, rows: number, D: number): void;
  rmsNorm(x: number, w: number, y: number, rows: number, D: number): void;
  rmsNormGrad(x: number, w: number, dy: number, dx: number, dw: number, rows: number, D: number): void;
}

/** The kernels, running in `memory` (tfjs-wasm's heap). */
export function instantiateKernels(memory: WebAssembly.Memory): Kernels {
  const module = new WebAssembly.Module(assemble([mixNN, mixNT, gemmNN, sumMiddle, copyRuns, geluForward, geluBackward, adamw, sumSquares, layerNormForward(true), layerNormForward(false), layerNormBackward(true), layerNormBackward(false), rmsNorm, rmsNormGrad]));
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Kernels;
}
