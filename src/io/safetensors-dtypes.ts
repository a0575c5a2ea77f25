// The safetensors dtypes, their widths, and decoding one tensor's bytes (little-endian, C order)
// into float32 or int32 arrays; integers outside the int32 range are a ConfigError.
import { ConfigError, shown } from '../errors.ts';
import { decodeBfloat16, decodeFloat16 } from './float16.ts';

export type SafetensorsDType =
  | 'F64'
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'I64'
  | 'I32'
  | 'I16'
  | 'I8'
  | 'U64'
  | 'U32'
  | 'U16'
  | 'U8'
  | 'BOOL';

export const DTYPE_BYTES: Readonly<Record<SafetensorsDType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

export const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A tensor's header entry, checked: `begin`/`end` are offsets in the data section. */
export interface Entry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

/** Copies out of `bytes` so that no typed array is built on an unaligned offset. */
export function decodeTensor(bytes: Uint8Array, at: number, e: Entry, source: string): Float32Array | Int32Array {
  const n = (e.end - e.begin) / DTYPE_BYTES[e.dtype];
  if (e.dtype === 'F32' && LITTLE_ENDIAN_HOST) {
    // An explicit copy: Buffer#slice (readFileSync's result) is a view, not a copy.
    const copy = new Uint8Array(4 * n);
    copy.set(bytes.subarray(at, at + 4 * n));
    return new Float32Array(copy.buffer);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, e.end - e.begin);
  switch (e.dtype) {
    case 'F32':
      return fill(new Float32Array(n), (i) => view.getFloat32(4 * i, true));
    case 'F64':
      return fill(new Float32Array(n), (i) => view.getFloat64(8 * i, true));
    case 'F16':
      return fill(new Float32Array(n), (i) => decodeFloat16(view.getUint16(2 * i, true)));
    case 'BF16':
      return fill(new Float32Array(n), (i) => decodeBfloat16(view.getUint16(2 * i, true)));
    case 'I32':
      return fill(new Int32Array(n), (i) => view.getInt32(4 * i, true));
    case 'I16':
      return fill(new Int32Array(n), (i) => view.getInt16(2 * i, true));
    case 'I8':
      return fill(new Int32Array(n), (i) => view.getInt8(i));
    case 'U16':
      return fill(new Int32Array(n), (i) => view.getUint16(2 * i, true));
    case 'U8':
    case 'BOOL':
      return fill(new Int32Array(n), (i) => view.getUint8(i));
    case 'U32':
      return toInt32(e, source, n, (i) => view.getUint32(4 * i, true));
    case 'I64':
      return toInt32(e, source, n, (i) => view.getBigInt64(8 * i, true));
    case 'U64':
      return toInt32(e, source, n, (i) => view.getBigUint64(8 * i, true));
  }
}

function fill<T extends Float32Array | Int32Array>(out: T, get: (i: number) => number): T {
  for (let i = 0; i < out.length; i++) out[i] = get(i);
  return out;
}

function toInt32(e: Entry, source: string, n: number, get: (i: number) => number | bigint): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = get(i);
    if (v < -2147483648 || v > 2147483647) {
      throw new ConfigError(
        `${source}: tensor ${shown(e.name)} holds ${e.dtype} value ${v} at index ${i}, outside the int32 range hcprobe reads`,
      );
    }
    out[i] = Number(v);
  }
  return out;
}
