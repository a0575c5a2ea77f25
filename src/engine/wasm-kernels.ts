// Replacements for four tfjs-wasm kernels that copy far more than they return. Slice reads the
// whole input out of the wasm heap (readSync) before copying its part, so unstacking a
// [16,128,128] tensor copied it 16 times; Unpack and SplitV call that Slice once per output.
// Identity copies its input, and tfjs clones every tensor it saves for the backward pass through
// Identity (about 800 copies per training step). Here Slice copies from a view of the heap,
// Unpack and SplitV use it, and Identity shares the input's buffer the way Reshape does (no
// wasm kernel writes into an existing buffer, so sharing is safe).
import { tf, type Tensor } from './tf.ts';

interface HeapData {
  memoryOffset: number;
}
interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: string;
}
interface WasmBackend {
  incRef(dataId: object): void;
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
  dataIdMap: { get(dataId: object): HeapData };
}
type KernelArgs = { inputs: Record<string, TensorInfo>; attrs: Record<string, unknown>; backend: WasmBackend };

let registered = false;

/** Registers the replacements on the wasm backend (once per process); call after it is ready. */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  const replace = (kernelName: string, kernelFunc: (a: KernelArgs) => unknown) => {
    tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as never });
  };
  replace('Identity', ({ inputs, backend }) => {
    const x = inputs.x as TensorInfo;
    if (x.dtype === 'string') return tf.tensor(tf.backend().readSync(x.dataId as never) as never, x.shape, 'string');
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  });
  replace('Slice', ({ inputs, attrs, backend }) => {
    const x = inputs.x as TensorInfo;
    const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as Tensor, attrs.begin as number[], attrs.size as number[]);
    return sliceFromHeap(backend, x, begin as number[], size as number[]);
  });
  replace('Unpack', ({ inputs, attrs, backend }) => {
    const x = inputs.value as TensorInfo;
    const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0] as number;
    const outShape = x.shape.filter((_, i) => i !== axis);
    const begin = x.shape.map(() => 0);
    const size = x.shape.slice();
    size[axis] = 1;
    return Array.from({ length: x.shape[axis] as number }, (_, i) => {
      begin[axis] = i;
      const part = sliceFromHeap(backend, x, begin, size);
      return { dataId: part.dataId, shape: outShape, dtype: part.dtype };
    });
  });
  replace('SplitV', ({ inputs, attrs, backend }) => {
    const x = inputs.x as TensorInfo;
    const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0] as number;
    const sizes = tf.backend_util.prepareSplitSize(x as unknown as Tensor, attrs.numOrSizeSplits as number[] | number, axis);
    const begin = x.shape.map(() => 0);
    return sizes.map((s) => {
      const size = x.shape.slice();
      size[axis] = s;
      const part = sliceFromHeap(backend, x, begin, size);
      begin[axis] = (begin[axis] as number) + s;
      return part;
    });
  });
}

/** x[begin : begin + size] copied row by row from a view of the heap (no string tensors here). */
function sliceFromHeap(backend: WasmBackend, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  if (x.dtype === 'string') throw new Error('slice of a string tensor on wasm');
  const out = backend.makeOutput(size, x.dtype);
  // Views are taken after makeOutput: allocating may grow the heap and detach older views.
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const rank = x.shape.length;
  const strides = tf.util.computeStrides(x.shape);
  // The innermost run of axes taken whole, from the last axis inwards, is one contiguous block.
  let inner = 1;
  let axis = rank - 1;
  while (axis >= 0 && begin[axis] === 0 && size[axis] === x.shape[axis]) inner *= x.shape[axis--] as number;
  if (axis < 0) {
    dst.set(src);
    return out;
  }
  const run = inner * (size[axis] as number);
  const count = size.slice(0, axis).reduce((a, s) => a * s, 1);
  const index = new Array<number>(axis).fill(0);
  const base = (begin[axis] as number) * inner;
  for (let r = 0, o = 0; r < count; r++, o += run) {
    let from = base;
    for (let k = 0; k < axis; k++) from += ((begin[k] as number) + (index[k] as number)) * (strides[k] as number);
    dst.set(src.subarray(from, from + run), o);
    for (let k = axis - 1; k >= 0; k--) {
      index[k] = (index[k] as number) + 1;
      if ((index[k] as number) < (size[k] as number)) break;
      index[k] = 0;
    }
  }
  return out;
}
