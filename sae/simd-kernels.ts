// Three WebAssembly SIMD (f32x4) kernels for the sparse SAE passes, assembled here from their
// opcodes so no toolchain is needed: dot(a, b, n4) → Σ a·b, axpy(y, x, α, n4): y += α·x, and
// axpy2, two axpys in one call. Pointers are byte offsets into `memory`; n4 counts 4-float
// groups. V8 runs these about 4x faster than the scalar loops in sparse-kernels.ts.

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const str = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];

// Instructions (core and SIMD proposal opcodes).
const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];
const tee = (i: number) => [0x22, i];
const i32c = (v: number) => [0x41, v]; // small non-negative constants only (< 64)
const simd = (op: number) => [0xfd, ...uleb(op)];
const load = [...simd(0x00), 0, 0]; // v128.load align=1 offset=0
const store = [...simd(0x0b), 0, 0];
const splat = simd(0x13);
const lane = (l: number) => [...simd(0x1f), l];
const vadd = simd(0xe4);
const vmul = simd(0xe6);
const bump = (p: number) => [...get(p), ...i32c(16), 0x6a, ...set(p)]; // p += 16
/** block; if n4 == 0 skip; loop { body; n4 -= 1; br_if n4 } end end */
const counted = (n4: number, body: number[]) => [0x02, 0x40, ...get(n4), 0x45, 0x0d, 0, 0x03, 0x40, ...body, ...get(n4), ...i32c(1), 0x6b, ...tee(n4), 0x0d, 0, 0x0b, 0x0b];
/** y[p] += v * x[q] for v128 local v */
const fma = (p: number, q: number, v: number) => [...get(p), ...get(p), ...load, ...get(q), ...load, ...get(v), ...vmul, ...vadd, ...store];

function body(locals: number[][], code: number[]): number[] {
  const b = [...vec(locals), ...code, 0x0b];
  return [...uleb(b.length), ...b];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const types = vec([
    [0x60, ...vec([[I32], [I32], [I32]]), ...vec([[F32]])], // dot
    [0x60, ...vec([[I32], [I32], [F32], [I32]]), 0], // axpy
    [0x60, ...vec([[I32], [I32], [F32], [I32], [I32], [F32], [I32]]), 0], // axpy2
  ]);
  const imports = vec([[...str('env'), ...str('memory'), 0x02, 0x00, ...uleb(1)]]);
  const funcs = vec([[0], [1], [2]]);
  const exports = vec([[...str('dot'), 0x00, 0], [...str('axpy'), 0x00, 1], [...str('axpy2'), 0x00, 2]]);
  // dot(a=0, b=1, n4=2), acc=3: v128
  const dot = body([[1, V128]], [
    ...counted(2, [...get(3), ...get(0), ...load, ...get(1), ...load, ...vmul, ...vadd, ...set(3), ...bump(0), ...bump(1)]),
    ...get(3), ...lane(0), ...get(3), ...lane(1), 0x92, ...get(3), ...lane(2), 0x92, ...get(3), ...lane(3), 0x92,
  ]);
  // axpy(y=0, x=1, a=2, n4=3), va=4
  const axpy = body([[1, V128]], [...get(2), ...splat, ...set(4), ...counted(3, [...fma(0, 1, 4), ...bump(0), ...bump(1)])]);
  // axpy2(y1=0, x1=1, a1=2, y2=3, x2=4, a2=5, n4=6), va1=7, va2=8
  const axpy2 = body([[2, V128]], [
    ...get(2), ...splat, ...set(7), ...get(5), ...splat, ...set(8),
    ...counted(6, [...fma(0, 1, 7), ...fma(3, 4, 8), ...bump(0), ...bump(1), ...bump(3), ...bump(4)]),
  ]);
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, types), ...section(2, imports), ...section(3, funcs), ...section(7, exports),
    ...section(10, vec([dot, axpy, axpy2])),
  ]);
}

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
    const bytes = moduleBytes();
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
