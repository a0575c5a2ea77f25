// A small WebAssembly assembler: just enough of the binary format to build kernels that run on
// an imported memory (env.memory: tfjs-wasm's own, or the SAE kernels'), with 128-bit SIMD.
// Functions take i32 parameters (byte addresses and sizes) and f32 ones, may declare i32, f32
// and v128 locals, and return nothing or an f32.
// Bodies are arrays of instruction bytes built with the helpers below; loops are counted.

/** Unsigned LEB128. */
function uleb(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 (for i32.const). */
function sleb(n: number): number[] {
  const out: number[] = [];
  let v = n | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;
const simd = (code: number, ...rest: number[]): number[] => [0xfd, ...uleb(code), ...rest];

/** Instruction helpers; each returns its bytes, operands first (stack order). */
export const w = {
  get: (local: number) => [0x20, ...uleb(local)],
  set: (local: number, ...value: number[][]) => [...value.flat(), 0x21, ...uleb(local)],
  i32: (value: number) => [0x41, ...sleb(value)],
  add: (a: number[], b: number[]) => [...a, ...b, 0x6a],
  mul: (a: number[], b: number[]) => [...a, ...b, 0x6c],
  shl2: (a: number[]) => [...a, 0x41, 2, 0x74],
  /** the sum of a v128 local's four f32 lanes, (l0 + l1) + (l2 + l3) */
  lanesSum: (local: number) => [0x20, ...uleb(local), ...simd(0x1f, 0), 0x20, ...uleb(local), ...simd(0x1f, 1), 0x92, 0x20, ...uleb(local), ...simd(0x1f, 2), 0x20, ...uleb(local), ...simd(0x1f, 3), 0x92, 0x92],
  /** local += value */
  inc: (local: number, value: number[]) => [0x20, ...uleb(local), ...value, 0x6a, 0x21, ...uleb(local)],
  f32Load: (addr: number[]) => [...addr, 0x2a, 2, 0],
  f32Store: (addr: number[], value: number[]) => [...addr, ...value, 0x38, 2, 0],
  f32Add: (a: number[], b: number[]) => [...a, ...b, 0x92],
  f32Sub: (a: number[], b: number[]) => [...a, ...b, 0x93],
  f32Mul: (a: number[], b: number[]) => [...a, ...b, 0x94],
  f32Div: (a: number[], b: number[]) => [...a, ...b, 0x95],
  f32Max: (a: number[], b: number[]) => [...a, ...b, 0x97],
  f32Sqrt: (a: number[]) => [...a, 0x91],
  f32Const: (c: number) => [0x43, ...new Uint8Array(Float32Array.of(c).buffer)],
  /** the i32 as an f32 */
  f32FromI32: (a: number[]) => [...a, 0xb3],
  /** a > b ? x : y (f32 compare, any operand type) */
  selectGt: (x: number[], y: number[], a: number[], b: number[]) => [...x, ...y, ...a, ...b, 0x5e, 0x1b],
  /** a rounded down to a multiple of 4 */
  floor4: (a: number[]) => [...a, 0x41, ...sleb(-4), 0x71],
  /** memory.copy(dst, src, bytes) */
  copy: (dst: number[], src: number[], bytes: number[]) => [...dst, ...src, ...bytes, 0xfc, 0x0a, 0, 0],
  v128Load: (addr: number[], offset = 0) => [...addr, ...simd(0x00, 0, ...uleb(offset))],
  v128Store: (addr: number[], value: number[], offset = 0) => [...addr, ...value, ...simd(0x0b, 0, ...uleb(offset))],
  v128Zero: () => simd(0x0c, ...new Array<number>(16).fill(0)),
  f32x4Splat: (x: number[]) => [...x, ...simd(0x13)],
  f32x4Add: (a: number[], b: number[]) => [...a, ...b, ...simd(0xe4)],
  f32x4Mul: (a: number[], b: number[]) => [...a, ...b, ...simd(0xe6)],
  f32x4Lane: (v: number[], lane: number) => [...v, ...simd(0x1f, lane)],
  f32x4Sub: (a: number[], b: number[]) => [...a, ...b, ...simd(0xe5)],
  f32x4Sqrt: (a: number[]) => [...a, ...simd(0xe3)],
  f32x4Div: (a: number[], b: number[]) => [...a, ...b, ...simd(0xe7)],
  f32x4Min: (a: number[], b: number[]) => [...a, ...b, ...simd(0xe8)],
  f32x4Max: (a: number[], b: number[]) => [...a, ...b, ...simd(0xe9)],
  f32x4Abs: (a: number[]) => [...a, ...simd(0xe0)],
  f32x4Nearest: (a: number[]) => [...a, ...simd(0x6a)],
  /** four lanes of the float32 nearest to c */
  f32x4Const: (c: number) => simd(0x0c, ...new Array<number[]>(4).fill([...new Uint8Array(Float32Array.of(c).buffer)]).flat()),
  i32x4Const: (c: number) => simd(0x0c, ...new Array<number[]>(4).fill([...new Uint8Array(Int32Array.of(c).buffer)]).flat()),
  i32x4TruncSat: (a: number[]) => [...a, ...simd(0xf8)],
  i32x4Add: (a: number[], b: number[]) => [...a, ...b, ...simd(0xae)],
  i32x4Shl: (a: number[], bits: number) => [...a, 0x41, ...sleb(bits), ...simd(0xab)],
  v128And: (a: number[], b: number[]) => [...a, ...b, ...simd(0x4e)],
  v128Or: (a: number[], b: number[]) => [...a, ...b, ...simd(0x50)],
  /** for (local = 0; local < end; local += step) body — body skipped when end is 0. */
  range: (local: number, end: number[], step: number[], ...body: number[][]) => [
    0x41, 0, 0x21, ...uleb(local),
    0x02, 0x40, // block
    0x20, ...uleb(local), ...end, 0x4f, 0x0d, 0, // local >= end: leave
    0x03, 0x40, // loop
    ...body.flat(),
    0x20, ...uleb(local), ...step, 0x6a, 0x22, ...uleb(local), ...end, 0x49, 0x0d, 0, // local += step; local < end: again
    0x0b, 0x0b,
  ],
};

export interface WasmFunction {
  name: string;
  /** Number of i32 parameters. */
  params: number;
  /** Number of f32 parameters, after the i32 ones. */
  f32Params?: number;
  /** The parameter types in order, when they mix (replaces params and f32Params). */
  paramTypes?: ('i32' | 'f32')[];
  /** An f32 result, left on the stack at the end of the body; none by default. */
  result?: 'f32';
  /** Extra locals after the parameters: i32s first, then f32s, then v128s. */
  i32Locals: number;
  f32Locals?: number;
  v128Locals: number;
  body: number[];
}

const section = (id: number, payload: number[]): number[] => [id, ...uleb(payload.length), ...payload];
const vector = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
};

/** A module importing env.memory (no maximum) and exporting the functions by name. */
export function assemble(functions: WasmFunction[]): Uint8Array<ArrayBuffer> {
  const types = functions.map((f) => {
    const params = f.paramTypes?.map((t) => (t === 'f32' ? F32 : I32)) ?? [...new Array<number>(f.params).fill(I32), ...new Array<number>(f.f32Params ?? 0).fill(F32)];
    return [0x60, ...uleb(params.length), ...params, ...(f.result === 'f32' ? [1, F32] : [0])];
  });
  const memoryImport = [...name('env'), ...name('memory'), 0x02, 0x00, 0x00]; // memory, limits: min 0, no max
  const code = functions.map((f) => {
    const locals: number[][] = [];
    if (f.i32Locals) locals.push([...uleb(f.i32Locals), I32]);
    if (f.f32Locals) locals.push([...uleb(f.f32Locals), F32]);
    if (f.v128Locals) locals.push([...uleb(f.v128Locals), V128]);
    const body = [...vector(locals), ...f.body, 0x0b];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector(types)),
    ...section(2, vector([memoryImport])),
    ...section(3, vector(functions.map((_, i) => uleb(i)))),
    ...section(7, vector(functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vector(code)),
  ]);
}
