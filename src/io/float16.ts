// IEEE 754 half precision (float16 captures) and bfloat16 (checkpoints): encoding from float32,
// rounding to nearest even, and exact decoding.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf or NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → signed zero
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rounded = mant + half - 1 + ((mant >>> shift) & 1);
    return sign | (rounded >>> shift);
  }
  const rounded = mant + 0xfff + ((mant >>> 13) & 1);
  if (rounded & 0x800000) {
    mant = 0;
    e += 1;
    if (e >= 0x1f) return sign | 0x7c00;
  } else mant = rounded;
  return sign | (e << 10) | (mant >>> 13);
}

export function toFloat16Array(values: Float32Array, out: Uint16Array = new Uint16Array(values.length)): Uint16Array {
  for (let i = 0; i < values.length; i++) out[i] = toFloat16Bits(values[i] as number);
  return out;
}

/** IEEE 754 binary16 bits → number: ±2^(e−15)·(1 + f/1024), subnormals ±2^−14·f/1024. */
export function decodeFloat16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : Number.NaN;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}

/** bfloat16 bits → number: bfloat16 is the upper half of a float32, so this is exact. */
export function decodeBfloat16(bits: number): number {
  bf16Scratch.setUint32(0, (bits & 0xffff) << 16);
  return bf16Scratch.getFloat32(0);
}
const bf16Scratch = new DataView(new ArrayBuffer(4));
