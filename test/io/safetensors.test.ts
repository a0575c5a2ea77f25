// Tests for the safetensors reader/writer: round trips, exact float16/bfloat16 decoding,
// hand-built files of every dtype, and a ConfigError (never a crash) for each malformed file.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import { decodeBfloat16, decodeFloat16 } from '../../src/io/float16.ts';
import {
  parseSafetensors,
  readSafetensorsFile,
  serializeSafetensors,
  writeSafetensorsFile,
} from '../../src/io/safetensors.ts';

const SRC = 'model.safetensors';

/** A file built by hand: u64 LE header length, the header text as given, then `data`. */
function build(header: string | object, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

function le(kind: 'u16' | 'i32' | 'u32' | 'f32' | 'f64' | 'i64' | 'u64', values: readonly (number | bigint)[]) {
  const size = { u16: 2, i32: 4, u32: 4, f32: 4, f64: 8, i64: 8, u64: 8 }[kind];
  const v = new DataView(new ArrayBuffer(size * values.length));
  values.forEach((x, i) => {
    if (kind === 'u16') v.setUint16(i * size, Number(x), true);
    else if (kind === 'i32') v.setInt32(i * size, Number(x), true);
    else if (kind === 'u32') v.setUint32(i * size, Number(x), true);
    else if (kind === 'f32') v.setFloat32(i * size, Number(x), true);
    else if (kind === 'f64') v.setFloat64(i * size, Number(x), true);
    else if (kind === 'i64') v.setBigInt64(i * size, BigInt(x), true);
    else v.setBigUint64(i * size, BigInt(x), true);
  });
  return new Uint8Array(v.buffer);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function rejects(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => parseSafetensors(bytes, SRC),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
      assert.match(err.message, /^model\.safetensors: /);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'hcprobe-st-'));
}

test('float16 decoding is exact on known bit patterns', () => {
  assert.equal(decodeFloat16(0x3c00), 1);
  assert.equal(decodeFloat16(0xc000), -2);
  assert.equal(decodeFloat16(0x7bff), 65504);
  assert.equal(decodeFloat16(0x0001), 2 ** -24);
  assert.equal(decodeFloat16(0x03ff), 1023 * 2 ** -24);
  assert.equal(decodeFloat16(0x0400), 2 ** -14);
  assert.equal(decodeFloat16(0x3555), 0.333251953125);
  assert.equal(decodeFloat16(0x7c00), Infinity);
  assert.equal(decodeFloat16(0xfc00), -Infinity);
  assert.ok(Number.isNaN(decodeFloat16(0x7e00)));
  assert.ok(Number.isNaN(decodeFloat16(0xfc01)));
  assert.ok(Object.is(decodeFloat16(0x8000), -0));
  assert.ok(Object.is(decodeFloat16(0x0000), 0));
});

test('bfloat16 decoding is exact on known bit patterns', () => {
  assert.equal(decodeBfloat16(0x3f80), 1);
  assert.equal(decodeBfloat16(0xc000), -2);
  assert.equal(decodeBfloat16(0x4049), 3.140625);
  assert.equal(decodeBfloat16(0x7f7f), 3.3895313892515355e38);
  assert.equal(decodeBfloat16(0x0001), 2 ** -133);
  assert.equal(decodeBfloat16(0x7f80), Infinity);
  assert.equal(decodeBfloat16(0xff80), -Infinity);
  assert.ok(Number.isNaN(decodeBfloat16(0x7fc0)));
  assert.ok(Object.is(decodeBfloat16(0x8000), -0));
});

test('serializes to the exact bytes the format prescribes', () => {
  const bytes = serializeSafetensors(new Map([['a', { shape: [2], data: new Float32Array([1, -2]) }]]), {});
  const json = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  const padded = json.padEnd(Math.ceil(json.length / 8) * 8, ' ');
  const expected = concat(le('u64', [padded.length]), new TextEncoder().encode(padded), le('f32', [1, -2]));
  assert.deepEqual(bytes, expected);
});

test('round trip keeps names in order, shapes including [] and [0, 3], values and metadata', () => {
  const tensors = new Map([
    ['transformer.wte.weight', { shape: [2, 3], data: new Float32Array([1, -2.5, 3e-8, NaN, Infinity, -0]) }],
    ['scalar', { shape: [], data: new Float32Array([0.1]) }],
    ['empty', { shape: [0, 3], data: new Float32Array(0) }],
    ['transformer.h.0.hc_attn.static_alpha', { shape: [4, 1], data: new Float32Array([1, 2, 3, 4]) }],
  ]);
  const metadata = { n_layer: '2', hyper_conn_type: 'mhc', note: 'ünïcode "quoted"', __proto__x: 'y' };
  const bytes = serializeSafetensors(tensors, metadata);
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(headerLen % 8, 0);
  const back = parseSafetensors(bytes, SRC);
  assert.deepEqual([...back.tensors.keys()], [...tensors.keys()]);
  for (const [name, t] of tensors) {
    const got = back.tensors.get(name);
    assert.ok(got !== undefined);
    assert.equal(got.dtype, 'F32');
    assert.deepEqual(got.shape, t.shape);
    assert.ok(got.data instanceof Float32Array);
    assert.deepEqual(new Uint8Array(got.data.buffer), new Uint8Array(t.data.buffer));
  }
  assert.equal(back.tensors.get('scalar')?.data.length, 1);
  assert.deepEqual(back.metadata, metadata);
});

test('round trip through files, refusing to overwrite without force', () => {
  const dir = tempDir();
  const file = path.join(dir, 'ckpt', 'model.safetensors');
  const tensors = new Map([['w', { shape: [3], data: new Float32Array([1, 2, 3]) }]]);
  writeSafetensorsFile(file, tensors, { step: '10' });
  assert.deepEqual([...(readSafetensorsFile(file).tensors.get('w')?.data ?? [])], [1, 2, 3]);
  const other = new Map([['w', { shape: [1], data: new Float32Array([9]) }]]);
  assert.throws(() => writeSafetensorsFile(file, other, {}), (e: unknown) => e instanceof ConfigError && /--force/.test(e.message));
  assert.equal(readSafetensorsFile(file).metadata.step, '10');
  writeSafetensorsFile(file, other, {}, { force: true });
  assert.deepEqual([...(readSafetensorsFile(file).tensors.get('w')?.data ?? [])], [9]);
  assert.deepEqual(readSafetensorsFile(file).metadata, {});
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['model.safetensors']);
});

test('a missing file is a ConfigError naming the path', () => {
  const file = path.join(tempDir(), 'nope.safetensors');
  assert.throws(() => readSafetensorsFile(file), (e: unknown) => e instanceof ConfigError && e.message.includes(file));
});

test('reads hand-built F16, BF16, F64, I32, I64, I16, I8, U8, U16, U32, BOOL tensors', () => {
  const f16 = le('u16', [0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x7e00]);
  const bf16 = le('u16', [0x3f80, 0xc000, 0xff80, 0x0001]);
  const f64 = le('f64', [1.5, -0.25, 1e300, 0.1]);
  const i32 = le('i32', [-5, 2147483647, -2147483648]);
  const i64 = le('i64', [-3n, 2147483647n]);
  const i16 = new Uint8Array([0xff, 0xff, 0x00, 0x80]);
  const i8 = new Uint8Array([0x80, 0x7f]);
  const u8 = new Uint8Array([0, 255]);
  const u16 = le('u16', [65535]);
  const u32 = le('u32', [2147483647]);
  const bool = new Uint8Array([1, 0, 1]);
  const parts = [f16, bf16, f64, i32, i64, i16, i8, u8, u16, u32, bool];
  const specs = [
    ['f16', 'F16', [2, 3]],
    ['bf16', 'BF16', [4]],
    ['f64', 'F64', [2, 2]],
    ['i32', 'I32', [3]],
    ['i64', 'I64', [2]],
    ['i16', 'I16', [2]],
    ['i8', 'I8', [2]],
    ['u8', 'U8', [2]],
    ['u16', 'U16', []],
    ['u32', 'U32', [1]],
    ['bool', 'BOOL', [3]],
  ] as const;
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let at = 0;
  specs.forEach(([name, dtype, shape], i) => {
    const len = parts[i]?.byteLength ?? 0;
    header[name] = { dtype, shape, data_offsets: [at, at + len] };
    at += len;
  });
  const file = parseSafetensors(build(header, concat(...parts)), SRC);
  const get = (name: string) => {
    const t = file.tensors.get(name);
    assert.ok(t !== undefined, name);
    return t;
  };
  const f16t = get('f16');
  assert.ok(f16t.data instanceof Float32Array);
  assert.deepEqual(f16t.shape, [2, 3]);
  assert.deepEqual([...f16t.data], [1, -2, 65504, 2 ** -24, Infinity, NaN]);
  assert.deepEqual([...get('bf16').data], [1, -2, -Infinity, 2 ** -133]);
  assert.deepEqual([...get('f64').data], [1.5, -0.25, Infinity, Math.fround(0.1)]);
  const i32t = get('i32');
  assert.ok(i32t.data instanceof Int32Array);
  assert.equal(i32t.dtype, 'I32');
  assert.deepEqual([...i32t.data], [-5, 2147483647, -2147483648]);
  assert.deepEqual([...get('i64').data], [-3, 2147483647]);
  assert.deepEqual([...get('i16').data], [-1, -32768]);
  assert.deepEqual([...get('i8').data], [-128, 127]);
  assert.deepEqual([...get('u8').data], [0, 255]);
  assert.deepEqual([...get('u16').data], [65535]);
  assert.deepEqual([...get('u32').data], [2147483647]);
  assert.deepEqual([...get('bool').data], [1, 0, 1]);
  assert.deepEqual(file.metadata, { format: 'pt' });
});

test('reads tensors at unaligned offsets, from a Uint8Array inside a larger buffer', () => {
  // A 1-byte U8 tensor first puts the F32 and F64 tensors on odd offsets; the header
  // length of 13 makes the data section itself start on an odd byte.
  const data = concat(new Uint8Array([7]), le('f32', [1.25, -3]), le('f64', [2.5]));
  const header = JSON.stringify({
    b: { dtype: 'U8', shape: [1], data_offsets: [0, 1] },
    a: { dtype: 'F32', shape: [2], data_offsets: [1, 9] },
    c: { dtype: 'F64', shape: [], data_offsets: [9, 17] },
  });
  const file = build(header, data);
  assert.equal((8 + header.length) % 2, 1);
  const host = new Uint8Array(file.byteLength + 3);
  host.set(file, 3);
  const parsed = parseSafetensors(host.subarray(3), SRC);
  assert.deepEqual([...(parsed.tensors.get('a')?.data ?? [])], [1.25, -3]);
  assert.deepEqual([...(parsed.tensors.get('b')?.data ?? [])], [7]);
  assert.deepEqual([...(parsed.tensors.get('c')?.data ?? [])], [2.5]);
});

test('header padded with spaces and an empty header object are accepted', () => {
  const parsed = parseSafetensors(build('{}      '), SRC);
  assert.equal(parsed.tensors.size, 0);
  assert.deepEqual(parsed.metadata, {});
});

test('truncated files and absurd header lengths are ConfigErrors, not allocations', () => {
  rejects(new Uint8Array(5), /5 bytes.*too short/);
  rejects(new Uint8Array(0), /0 bytes/);
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 2n ** 60n, true);
  rejects(huge, /header length 1152921504606846976 exceeds the 100000000-byte limit/);
  const allOnes = new Uint8Array(16).fill(0xff);
  rejects(allOnes, /header length 18446744073709551615 exceeds/);
  const over = new Uint8Array(16);
  new DataView(over.buffer).setBigUint64(0, 100_000_001n, true);
  rejects(over, /100000001/);
  const pastEnd = new Uint8Array(20);
  new DataView(pastEnd.buffer).setBigUint64(0, 1000n, true);
  rejects(pastEnd, /header length 1000 runs past the end of the file \(20 bytes\)/);
});

test('a header that is not UTF-8, not JSON or not an object is a ConfigError', () => {
  const bad = build('{}');
  bad[9] = 0xff;
  rejects(bad, /not valid UTF-8/);
  rejects(build('{"a": {"dtype": "F32",'), /not valid JSON.*"\{\\"a\\": \{\\"dtype\\"/);
  rejects(build(''), /not valid JSON/);
  rejects(build('[1,2]'), /must be a JSON object.*\[1,2\]/);
  rejects(build('null'), /must be a JSON object.*null/);
  rejects(build('42'), /must be a JSON object.*42/);
});

test('malformed tensor entries are ConfigErrors naming the tensor and the value', () => {
  const name = 'transformer.wte.weight';
  const entry = (e: unknown, data = new Uint8Array(16)) => build({ [name]: e }, data);
  const t = /tensor "transformer\.wte\.weight"/;
  const ok = { dtype: 'F32', shape: [4], data_offsets: [0, 16] };
  rejects(entry(7), /tensor "transformer\.wte\.weight" must be an object.*7/);
  rejects(entry([1]), /must be an object.*\[1\]/);
  for (const key of ['dtype', 'shape', 'data_offsets'] as const) {
    const { [key]: _, ...rest } = ok;
    rejects(entry(rest), new RegExp(`${t.source} lacks "${key}"`));
  }
  rejects(entry({ ...ok, dtype: 5 }), /unsupported dtype 5/);
  rejects(entry({ ...ok, dtype: 'F8_E4M3' }), new RegExp(`${t.source} has unsupported dtype "F8_E4M3"`));
  rejects(entry({ ...ok, dtype: 'toString' }), /unsupported dtype "toString"/);
  rejects(entry({ ...ok, shape: '4' }), /has shape "4"/);
  rejects(entry({ ...ok, shape: [-1, 4] }), /has shape \[-1,4\]/);
  rejects(entry({ ...ok, shape: [1.5] }), /has shape \[1\.5\]/);
  rejects(entry({ ...ok, shape: [1e300] }), /has shape \[1e\+300\]/);
  rejects(entry({ ...ok, shape: [null] }), /has shape \[null\]/);
  rejects(entry({ ...ok, data_offsets: [0] }), /has data_offsets \[0\]/);
  rejects(entry({ ...ok, data_offsets: ['0', 16] }), /has data_offsets \["0",16\]/);
  rejects(entry({ ...ok, data_offsets: [-4, 16] }), /has data_offsets \[-4,16\]/);
  rejects(entry({ ...ok, data_offsets: {} }), /has data_offsets \{\}/);
  rejects(
    entry({ ...ok, data_offsets: [0, 999999] }),
    new RegExp(`${t.source} has data_offsets \\[0, 999999\\] past the end of the data section \\(16 bytes\\)`),
  );
  rejects(entry({ ...ok, data_offsets: [2 ** 53 - 1, 2 ** 53 - 1] }), /9007199254740991.*past the end/);
  rejects(entry({ ...ok, data_offsets: [12, 4] }), /data_offsets \[12, 4\] with end before begin/);
  rejects(entry({ ...ok, shape: [3] }), /dtype or shape mismatch: F32 \[3\] needs 3 × 4 bytes but data_offsets \[0, 16\] hold 16/);
  rejects(entry({ ...ok, dtype: 'F16' }), /dtype or shape mismatch: F16 \[4\]/);
  rejects(entry({ ...ok, shape: [2 ** 40, 2 ** 40, 2 ** 40] }), /dtype or shape mismatch: F32 \[1099511627776,/);
  rejects(entry({ ...ok, shape: [], data_offsets: [0, 0] }), /dtype or shape mismatch: F32 \[\] needs 1 × 4/);
});

test('overlapping tensors are a ConfigError naming both', () => {
  const data = new Uint8Array(16);
  rejects(
    build(
      {
        b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      },
      data,
    ),
    /tensors "a" \[0, 8\] and "b" \[4, 12\] overlap/,
  );
  rejects(
    build(
      {
        a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
        b: { dtype: 'U8', shape: [1], data_offsets: [15, 16] },
      },
      data,
    ),
    /"a" \[0, 16\] and "b" \[15, 16\] overlap/,
  );
  // Zero-size tensors occupy no bytes, so sharing an offset is not an overlap.
  const ok = parseSafetensors(
    build(
      {
        a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
        e: { dtype: 'F32', shape: [0, 3], data_offsets: [4, 4] },
      },
      data,
    ),
    SRC,
  );
  assert.deepEqual(ok.tensors.get('e')?.shape, [0, 3]);
});

test('bad __metadata__ is a ConfigError naming the key and value', () => {
  rejects(build({ __metadata__: { step: 10 } }), /__metadata__ value for "step" must be a string, got 10/);
  rejects(build({ __metadata__: { a: 'x', b: null } }), /value for "b" must be a string, got null/);
  rejects(build({ __metadata__: ['x'] }), /__metadata__ must be an object of strings, got \["x"\]/);
  rejects(build({ __metadata__: 'x' }), /__metadata__ must be an object of strings, got "x"/);
});

test('integer values outside the int32 range are ConfigErrors naming the tensor and value', () => {
  const big = (dtype: string, bytes: Uint8Array) =>
    build({ ids: { dtype, shape: [2], data_offsets: [0, bytes.byteLength] } }, bytes);
  rejects(big('I64', le('i64', [1n, 2n ** 60n])), /tensor "ids" holds I64 value 1152921504606846976 at index 1/);
  rejects(big('I64', le('i64', [-(2n ** 31n) - 1n, 0n])), /I64 value -2147483649 at index 0/);
  rejects(big('U64', le('u64', [0n, 2n ** 64n - 1n])), /U64 value 18446744073709551615/);
  rejects(big('U32', le('u32', [2 ** 31, 0])), /U32 value 2147483648/);
});

test('the writer rejects a shape that does not match the data', () => {
  assert.throws(
    () => serializeSafetensors(new Map([['w', { shape: [2, 2], data: new Float32Array(3) }]]), {}),
    /"w" has shape \[2,2\] but 3 values/,
  );
  assert.throws(
    () => serializeSafetensors(new Map([['__metadata__', { shape: [], data: new Float32Array(1) }]]), {}),
    /reserved/,
  );
});
