// Three WebAssembly SIMD (f32x4) kernels for the sparse SAE passes, built with the engine's
// assembler (src/engine/wasm/assemble.ts) so no toolchain is needed: dot(a, b, n4) → Σ a·b,
// axpy(y, x, α, n4): y += α·x, and axpy2, two axpys in one call. Pointers are byte offsets into
// their own `memory`; n4 counts 4-float groups. V8 runs these about 4x faster than the scalar
// loops in sparse-kernels.ts.
import { assemble, type WasmFunction, w } from '../src/engine/wasm/assemble.ts';


// dot(a=0, b=1, n4=2) → f32: i=3, acc=4 (v128)
const dot: WasmFunction = {
  name: 'dot',
  params: 3,
  result: 'f32',
  i32Locals: 1,
  v128Locals: 1,
  body: [
    ...w.range(3, w.get(2), w.i32(1), w.set(4, w.f32x4Add(w.get(4), w.f32x4Mul(w.v128Load(w.get(0)), w.v128Load(w.get(1))))), w.inc(0, w.i32(16)), w.inc(1, w.i32(16))),
    // ((l0 + l1) + l2) + l3
    ...w.f32Add(w.f32Add(w.f32Add(w.f32x4Lane(w.get(4), 0), w.f32x4Lane(w.get(4), 1)), w.f32x4Lane(w.get(4), 2)), w.f32x4Lane(w.get(4), 3)),
  ],
};
/** y += v · x over four floats at the pointers in locals y and x (v a v128 local), then both pointers += 16. */
const axpyStep = (y: number, x: number, v: number) => [...w.v128Store(w.get(y), w.f32x4Add(w.v128Load(w.get(y)), w.f32x4Mul(w.v128Load(w.get(x)), w.get(v)))), ...w.inc(y, w.i32(16)), ...w.inc(x, w.i32(16))];
// axpy(y=0, x=1, a=2, n4=3): i=4, va=5 (v128)
const axpy: WasmFunction = {
  name: 'axpy',
  params: 4,
  paramTypes: ['i32', 'i32', 'f32', 'i32'],
  i32Locals: 1,
  v128Locals: 1,
  body: [...w.set(5, w.f32x4Splat(w.get(2))), ...w.range(4, w.get(3), w.i32(1), axpyStep(0, 1, 5))],
};
// axpy2(y1=0, x1=1, a1=2, y2=3, x2=4, a2=5, n4=6): i=7, va1=8, va2=9 (v128)
const axpy2: WasmFunction = {
  name: 'axpy2',
  params: 7,
  paramTypes: ['i32', 'i32', 'f32', 'i32', 'i32', 'f32', 'i32'],
  i32Locals: 1,
  v128Locals: 2,
  body: [...w.set(8, w.f32x4Splat(w.get(2))), ...w.set(9, w.f32x4Splat(w.get(5))), ...w.range(7, w.get(6), w.i32(1), axpyStep(0, 1, 8), axpyStep(3, 4, 9))],
};

export interface SimdKernels {
  /** The whole memory as floats; re-read after `reserve`, which may replace it. */
  f32(): Float32Array;
  /** Makes room for `floats` floats from byte 0. */
  reserve(floats: number): void;
  dot(a: number, b: number, n4: number): number;
  axpy(y: number, x: number, alpha: number, n4: number): void;
  axpy2(y1: number, x1: number, a1: number, y2: number, x2: number, a2: number, n4: number): void;
}

let cached: SimdKernels | null | undefined;
let enabled = process.env.HCPROBE_SAE_SIMD !== '0';

/** Turns the kernels off (scalar loops) or back on: for tests that compare the two paths, and bench. */
export function useSimd(on: boolean): void {
  enabled = on;
}

/** The kernels, or null where WebAssembly SIMD is unavailable or turned off (callers fall back to scalar loops). */
export function simdKernels(): SimdKernels | null {
  if (!enabled) return null;
  if (cached !== undefined) return cached;
  cached = null;
  try {
    const bytes = assemble([dot, axpy, axpy2]);
    if (!WebAssembly.validate(bytes)) return null;
    const memory = new WebAssembly.Memory({ initial: 1 });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    const e = inst.exports as { dot: SimdKernels['dot']; axpy: SimdKernels['axpy']; axpy2: SimdKernels['axpy2'] };
    let view = new Float32Array(memory.buffer);
    cached = {
      f32: () => view,
      reserve(floats) {
        const need = Math.ceil((floats * 4) / 65536) - memory.buffer.byteLength / 65536;
        if (need > 0) memory.grow(need);
        if (view.buffer !== memory.buffer) view = new Float32Array(memory.buffer);
      },
      dot: e.dot,
      axpy: e.axpy,
      axpy2: e.axpy2,
    };
  } catch {
    cached = null;
  }
  return cached;
}
