// What we change in tfjs-wasm's kernels, and our own kernels registered on it (kernels.ts runs in
// its heap). Replaced, because they copy far more than they return or run scalar loops:
// - Slice reads the whole input out of the heap before copying its part, so unstacking a
//   [16,128,128] tensor copied it 16 times; Unpack and SplitV call it once per output. Here slices
//   are strided copies in the heap (copyRuns) and Unpack and SplitV use them.
// - Concat copies narrow rows one JavaScript call each ([2048,5] ‖ [2048,1]: 1.2 ms); here each
//   input is one copyRuns.
// - Identity, and Cast to the same dtype, copy their input; tfjs clones every tensor it saves for
//   the backward pass through Identity (about 800 copies per training step). Here both share the
//   input's buffer as Reshape does: no kernel of tfjs or ours writes into an existing tensor.
// - Sum over axes that are not the last ones transposes them to the end first (1.1 ms for
//   [4,128,4,128] → [128]); here a contiguous block of reduced axes is summed in place (sumMiddle).
// Added: HcprobeMixNN and HcprobeMixNT, the products of ops/token-mix.ts, ops/batched-matmul.ts
// and matmul.ts; HcprobeGelu and HcprobeGeluGrad (ops/gelu.ts); HcprobeLayerNorm, HcprobeRmsNorm
// and their gradients (ops/norms.ts).
import { type AdamWScalars, clipCoefficient, type InPlaceParam } from '../adamw-in-place.ts';
import { type Tensor, tf } from '../tf.ts';
import { instantiateKernels, type Kernels } from './kernels.ts';

interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: string;
}
interface WasmBackend {
  incRef(dataId: object): void;
  makeOutput(shape: number[], dtype: string): TensorInfo;
  dataIdMap: { get(dataId: object): { memoryOffset: number; refCount: number } | undefined };
  wasm: { asm: { memory: WebAssembly.Memory }; HEAPF32: Float32Array; _malloc(bytes: number): number };
}
type KernelArgs = { inputs: Record<string, TensorInfo>; attrs: Record<string, unknown>; backend: WasmBackend };
type KernelFunc = (a: KernelArgs) => unknown;

let kernels: Kernels | undefined;

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };
const at = (b: WasmBackend, t: TensorInfo) => (b.dataIdMap.get(t.dataId) as { memoryOffset: number }).memoryOffset;
const sizeOf = (shape: number[]) => shape.reduce((a, s) => a * s, 1);

/** Registers the replacements and our kernels on the wasm backend (once per process); call after it is ready. */
export function registerWasmKernels(backend: unknown): void {
  if (kernels) return;
  const k = instantiateKernels((backend as WasmBackend).wasm.asm.memory);
  kernels = k;
  const replace = (kernelName: string, kernelFunc: (a: KernelArgs, original: KernelFunc) => unknown) => {
    const original = tf.getKernel(kernelName, 'wasm')?.kernelFunc as unknown as KernelFunc;
    tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: ((a: KernelArgs) => kernelFunc(a, original)) as never });
  };
  const share = (b: WasmBackend, x: TensorInfo): TensorInfo => {
    b.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  replace('Identity', ({ inputs, backend: b }) => {
    const x = inputs.x as TensorInfo;
    if (x.dtype === 'string') return tf.tensor(tf.backend().readSync(x.dataId as never) as never, x.shape, 'string');
    return share(b, x);
  });
  replace('Cast', (args, original) => {
    const x = args.inputs.x as TensorInfo;
    return x.dtype === args.attrs.dtype && x.dtype !== 'string' ? share(args.backend, x) : original(args);
  });
  replace('Slice', ({ inputs, attrs, backend: b }) => {
    const x = inputs.x as TensorInfo;
    const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as Tensor, attrs.begin as number[], attrs.size as number[]);
    return sliceFromHeap(b, k, x, begin as number[], size as number[]);
  });
  replace('Unpack', ({ inputs, attrs, backend: b }) => {
    const x = inputs.value as TensorInfo;
    const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0] as number;
    const outShape = x.shape.filter((_, i) => i !== axis);
    const begin = x.shape.map(() => 0);
    const size = x.shape.slice();
    size[axis] = 1;
    return Array.from({ length: x.shape[axis] as number }, (_, i) => {
      begin[axis] = i;
      const part = sliceFromHeap(b, k, x, begin, size);
      return { dataId: part.dataId, shape: outShape, dtype: part.dtype };
    });
  });
  replace('SplitV', ({ inputs, attrs, backend: b }) => {
    const x = inputs.x as TensorInfo;
    const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0] as number;
    const sizes = tf.backend_util.prepareSplitSize(x as unknown as Tensor, attrs.numOrSizeSplits as number[] | number, axis);
    const begin = x.shape.map(() => 0);
    return sizes.map((s) => {
      const size = x.shape.slice();
      size[axis] = s;
      const part = sliceFromHeap(b, k, x, begin, size);
      begin[axis] = (begin[axis] as number) + s;
      return part;
    });
  });
  replace('Concat', (args, original) => {
    const xs = Object.values(args.inputs) as TensorInfo[];
    const first = xs[0] as TensorInfo;
    const bytes = BYTES[first.dtype];
    if (!bytes || xs.some((x) => x.dtype !== first.dtype)) return original(args);
    const axis = tf.util.parseAxisParam(args.attrs.axis as number, first.shape)[0] as number;
    const outShape = tf.backend_util.computeOutShape(xs.map((x) => x.shape), axis);
    const b = args.backend;
    const out = b.makeOutput(outShape, first.dtype);
    const rows = sizeOf(outShape.slice(0, axis));
    const outRow = sizeOf(outShape.slice(axis)) * bytes;
    let offset = at(b, out);
    for (const x of xs) {
      const run = sizeOf(x.shape.slice(axis)) * bytes;
      if (run > 0 && rows > 0) k.copyRuns(at(b, x), offset, rows, run, run, outRow);
      offset += run;
    }
    return out;
  });
  replace('Sum', (args, original) => {
    const x = args.inputs.x as TensorInfo;
    const axes = tf.util.parseAxisParam(args.attrs.axis as number | number[], x.shape).sort((a, c) => a - c);
    const first = axes[0] as number;
    const last = axes[axes.length - 1] as number;
    const inner = sizeOf(x.shape.slice(last + 1));
    // a contiguous block of reduced axes, followed by kept axes whose size is a multiple of 4
    if (x.dtype !== 'float32' || axes.length === 0 || last - first + 1 !== axes.length || last === x.shape.length - 1 || inner % 4 !== 0) return original(args);
    const b = args.backend;
    const kept = x.shape.map((s, i) => (axes.includes(i) ? 1 : s));
    const out = b.makeOutput(args.attrs.keepDims ? kept : x.shape.filter((_, i) => !axes.includes(i)), 'float32');
    k.sumMiddle(at(b, x), at(b, out), sizeOf(x.shape.slice(0, first)), sizeOf(x.shape.slice(first, last + 1)), inner);
    return out;
  });
  const register = (kernelName: string, kernelFunc: KernelFunc) => tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as never });
  register('HcprobeMixNN', ({ inputs, attrs, backend: b }) => {
    const { a, b: x } = inputs as { a: TensorInfo; b: TensorInfo };
    const { m, rsA, csA, bsA } = attrs as { m: number; rsA: number; csA: number; bsA: number };
    const [batch, kk, n] = x.shape as [number, number, number];
    const out = b.makeOutput([batch, m, n], 'float32');
    (m % 4 === 0 && n % 8 === 0 ? k.gemmNN : k.mixNN)(at(b, a), at(b, x), at(b, out), batch, m, kk, n, rsA, csA, bsA);
    return out;
  });
  register('HcprobeGelu', ({ inputs, backend: b }) => {
    const x = inputs.x as TensorInfo;
    const out = b.makeOutput(x.shape, 'float32');
    k.geluForward(at(b, x), at(b, out), sizeOf(x.shape));
    return out;
  });
  register('HcprobeGeluGrad', ({ inputs, backend: b }) => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const out = b.makeOutput(x.shape, 'float32');
    k.geluBackward(at(b, x), at(b, dy), sizeOf(x.shape), at(b, out));
    return out;
  });
  register('HcprobeLayerNorm', ({ inputs, backend: b }) => {
    const { x, w: weight, b: bias } = inputs as { x: TensorInfo; w: TensorInfo; b?: TensorInfo };
    const D = x.shape[x.shape.length - 1] as number;
    const out = b.makeOutput(x.shape, 'float32');
    if (bias) k.layerNorm(at(b, x), at(b, weight), at(b, bias), at(b, out), sizeOf(x.shape) / D, D);
    else k.layerNormNoBias(at(b, x), at(b, weight), at(b, out), sizeOf(x.shape) / D, D);
    return out;
  });
  register('HcprobeLayerNormGrad', ({ inputs, attrs, backend: b }) => {
    const { x, w: weight, dy } = inputs as { x: TensorInfo; w: TensorInfo; dy: TensorInfo };
    const D = x.shape[x.shape.length - 1] as number;
    const dx = b.makeOutput(x.shape, 'float32');
    const dw = b.makeOutput([D], 'float32');
    if (!attrs.bias) {
      k.layerNormGradNoBias(at(b, x), at(b, weight), at(b, dy), at(b, dx), at(b, dw), sizeOf(x.shape) / D, D);
      return [dx, dw];
    }
    const db = b.makeOutput([D], 'float32');
    k.layerNormGrad(at(b, x), at(b, weight), at(b, dy), at(b, dx), at(b, dw), at(b, db), sizeOf(x.shape) / D, D);
    return [dx, dw, db];
  });
  register('HcprobeRmsNorm', ({ inputs, backend: b }) => {
    const { x, w: weight } = inputs as { x: TensorInfo; w: TensorInfo };
    const D = x.shape[x.shape.length - 1] as number;
    const out = b.makeOutput(x.shape, 'float32');
    k.rmsNorm(at(b, x), at(b, weight), at(b, out), sizeOf(x.shape) / D, D);
    return out;
  });
  register('HcprobeRmsNormGrad', ({ inputs, backend: b }) => {
    const { x, w: weight, dy } = inputs as { x: TensorInfo; w: TensorInfo; dy: TensorInfo };
    const D = x.shape[x.shape.length - 1] as number;
    const dx = b.makeOutput(x.shape, 'float32');
    const dw = b.makeOutput([D], 'float32');
    k.rmsNormGrad(at(b, x), at(b, weight), at(b, dy), at(b, dx), at(b, dw), sizeOf(x.shape) / D, D);
    return [dx, dw];
  });
  register('HcprobeMixNT', ({ inputs, backend: b }) => {
    const { a, b: x } = inputs as { a: TensorInfo; b: TensorInfo };
    const [batch, m, kk] = a.shape as [number, number, number];
    const n = x.shape[1] as number;
    const out = b.makeOutput([batch, m, n], 'float32');
    k.mixNT(at(b, a), at(b, x), at(b, out), batch, m, n, kk);
    return out;
  });
}

/** Whether our kernels run here: the wasm backend is active and they are registered. */
export function wasmKernelsActive(): boolean {
  return kernels !== undefined && tf.getBackend() === 'wasm';
}

/** C[r] = op(A[r]) · B[r] where op(A)[i, p] = A at r·bsA + i·rsA + p·csA; B [R, k, n], n % 4 = 0. */
export function mixNN(a: Tensor, b: Tensor, m: number, strides: { rsA: number; csA: number; bsA: number }): Tensor {
  return tf.engine().runKernel('HcprobeMixNN', { a, b }, { m, ...strides }) as Tensor;
}

/** C[r] = A[r] · B[r]ᵀ; A [R, m, k], B [R, n, k], k % 4 = 0. */
export function mixNT(a: Tensor, b: Tensor): Tensor {
  return tf.engine().runKernel('HcprobeMixNT', { a, b }, {}) as Tensor;
}

/** Whether t is float32 and holds the only reference to its heap buffer, as updates in place need. */
export function ownsHeapBuffer(t: Tensor): boolean {
  const d = (tf.backend() as unknown as WasmBackend).dataIdMap.get(t.dataId);
  return d !== undefined && d.refCount === 1 && t.dtype === 'float32';
}

let scratch = 0;

/**
 * Clipping by global norm and one AdamW update, in place on every p, m and v (each must own its
 * buffer: ownsHeapBuffer), with optimizer.ts' float32 operations in its order, so that the result
 * equals its tfjs ops bit for bit; only the norm's sum runs in another order. Returns the norm
 * before clipping. A parameter keeps its tensor id, so it must never be the right operand of
 * tfjs-wasm's matMul, which caches XNNPACK's packing of that operand by id.
 */
export function adamwInPlace(params: InPlaceParam[], c: AdamWScalars): number {
  const k = kernels as Kernels;
  const b = tf.backend() as unknown as WasmBackend;
  if (scratch === 0) scratch = b.wasm._malloc(16);
  const F = Math.fround;
  let sum = 0;
  for (const { g } of params) {
    const n = g.size;
    const ag = at(b, g as unknown as TensorInfo);
    k.sumSquares(ag, n, scratch);
    const heap = b.wasm.HEAPF32;
    sum += heap[scratch >> 2] as number;
    const base = ag >> 2;
    for (let i = n - (n % 4); i < n; i++) sum += F((heap[base + i] as number) ** 2);
  }
  const norm = Math.sqrt(sum);
  const coef = clipCoefficient(norm, c.maxNorm);
  const [coefF, decayF, b1, omb1, b2, omb2, sbc2, eps, step] = [coef, 1 - c.lr * c.weightDecay, c.beta1, 1 - c.beta1, c.beta2, 1 - c.beta2, Math.sqrt(c.bc2), c.eps, c.lr / c.bc1].map(F) as number[] as [number, number, number, number, number, number, number, number, number];
  for (const { p, m, v, g, decay } of params) {
    const n = g.size;
    const [ap, am, av, ag] = [p, m, v, g].map((t) => at(b, t as unknown as TensorInfo)) as [number, number, number, number];
    k.adamw(ap, am, av, ag, n, coefF, decay ? decayF : 1, b1, omb1, b2, omb2, sbc2, eps, step);
    const heap = b.wasm.HEAPF32;
    for (let i = n - (n % 4); i < n; i++) {
      const [ip, im, iv, ig] = [(ap >> 2) + i, (am >> 2) + i, (av >> 2) + i, (ag >> 2) + i];
      const gg = F((heap[ig] as number) * coefF);
      const pd = decay ? F((heap[ip] as number) * decayF) : (heap[ip] as number);
      const mm = F(F((heap[im] as number) * b1) + F(gg * omb1));
      const vv = F(F((heap[iv] as number) * b2) + F(F(gg * gg) * omb2));
      heap[im] = mm;
      heap[iv] = vv;
      heap[ip] = F(pd - F(F(mm / F(F(F(Math.sqrt(vv)) / sbc2) + eps)) * step));
    }
  }
  return norm;
}

/** A norm over the last axis on the kernels (D a multiple of 4): LayerNorm with or without bias, or RMSNorm; w is the gain. */
export function normKernel(kind: 'layer' | 'rms', x: Tensor, w: Tensor, b?: Tensor): Tensor {
  return tf.engine().runKernel(kind === 'layer' ? 'HcprobeLayerNorm' : 'HcprobeRmsNorm', b ? { x, w, b } : { x, w }, {}) as Tensor;
}
/** [dx, dw] (and db for a LayerNorm with bias) of normKernel, given dy. */
export function normGradKernel(kind: 'layer' | 'rms', x: Tensor, w: Tensor, dy: Tensor, bias: boolean): Tensor[] {
  return tf.engine().runKernel(kind === 'layer' ? 'HcprobeLayerNormGrad' : 'HcprobeRmsNormGrad', { x, w, dy }, { bias }) as unknown as Tensor[];
}

/** Exact GELU of x (float32, size a multiple of 4) and, given dy, its gradient. */
export function geluKernel(x: Tensor): Tensor {
  return tf.engine().runKernel('HcprobeGelu', { x }, {}) as Tensor;
}
export function geluGradKernel(x: Tensor, dy: Tensor): Tensor {
  return tf.engine().runKernel('HcprobeGeluGrad', { x, dy }, {}) as Tensor;
}

/** x[begin : begin + size] copied in the heap: one strided copy when only one axis is cut, else run by run. */
function sliceFromHeap(b: WasmBackend, k: Kernels, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  const bytes = BYTES[x.dtype];
  if (!bytes) throw new Error(`slice of a ${x.dtype} tensor on wasm`);
  const out = b.makeOutput(size, x.dtype);
  if (sizeOf(size) === 0) return out;
  const rank = x.shape.length;
  const strides = tf.util.computeStrides(x.shape);
  // The innermost run of axes taken whole, from the last axis inwards, is one contiguous block.
  let inner = 1;
  let axis = rank - 1;
  while (axis >= 0 && begin[axis] === 0 && size[axis] === x.shape[axis]) inner *= x.shape[axis--] as number;
  const src = at(b, x);
  const dst = at(b, out);
  if (axis < 0) {
    k.copyRuns(src, dst, 1, inner * bytes, 0, 0);
    return out;
  }
  const run = inner * (size[axis] as number) * bytes;
  const rowStride = inner * (x.shape[axis] as number) * bytes;
  const base = src + (begin[axis] as number) * inner * bytes;
  // Axes above `axis` taken whole: their rows are evenly spaced, one strided copy.
  if (begin.slice(0, axis).every((s, i) => s === 0 && size[i] === x.shape[i])) {
    k.copyRuns(base, dst, sizeOf(size.slice(0, axis)), run, rowStride, run);
    return out;
  }
  const count = sizeOf(size.slice(0, axis));
  const index = new Array<number>(axis).fill(0);
  for (let r = 0, o = dst; r < count; r++, o += run) {
    let from = base;
    for (let a = 0; a < axis; a++) from += ((begin[a] as number) + (index[a] as number)) * (strides[a] as number) * bytes;
    k.copyRuns(from, o, 1, run, 0, 0);
    for (let a = axis - 1; a >= 0; a--) {
      index[a] = (index[a] as number) + 1;
      if ((index[a] as number) < (size[a] as number)) break;
      index[a] = 0;
    }
  }
  return out;
}
