// Parsing the safetensors format (huggingface/safetensors): u64 LE header length N, N bytes of
// UTF-8 JSON {name: {dtype, shape, data_offsets}, __metadata__?}, then the data section, offsets
// relative to its start, tensors little-endian in C order. Every malformed file is a ConfigError.

import { ConfigError, shown, shownJson } from '../errors.ts';
import { DTYPE_BYTES, decodeTensor, type Entry, type SafetensorsDType } from './safetensors-dtypes.ts';

export type { SafetensorsDType } from './safetensors-dtypes.ts';

/**
 * One tensor as read. Float dtypes arrive as Float32Array (F64 rounded to the nearest
 * float32; F16 and BF16 exactly). Integer dtypes and BOOL arrive as Int32Array, and a
 * value outside the int32 range (possible for I64, U32, U64) is a ConfigError.
 * `dtype` is the dtype stored in the file.
 */
export interface StTensor {
  dtype: SafetensorsDType;
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, StTensor>;
  metadata: Record<string, string>;
}


// The reference implementation's limit: a larger header is corrupt or hostile.
const MAX_HEADER_BYTES = 100_000_000;
export const METADATA_KEY = '__metadata__';



/** Parses a whole safetensors file held in memory; `source` names it in error messages. */
export function parseSafetensors(bytes: Uint8Array, source: string): SafetensorsFile {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 8) {
    throw new ConfigError(
      `${source}: file is ${bytes.byteLength} bytes, too short for the 8-byte safetensors header length`,
    );
  }
  const headerLen64 = view.getBigUint64(0, true);
  if (headerLen64 > BigInt(MAX_HEADER_BYTES)) {
    throw new ConfigError(
      `${source}: header length ${headerLen64} exceeds the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file, or corrupt)`,
    );
  }
  const headerLen = Number(headerLen64);
  if (8 + headerLen > bytes.byteLength) {
    throw new ConfigError(
      `${source}: header length ${headerLen} runs past the end of the file (${bytes.byteLength} bytes)`,
    );
  }
  const header = parseHeader(bytes.subarray(8, 8 + headerLen), source);
  const dataStart = 8 + headerLen;
  const dataLen = bytes.byteLength - dataStart;

  let metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === METADATA_KEY) metadata = checkMetadata(raw, source);
    else entries.push(checkEntry(name, raw, dataLen, source));
  }
  checkOverlaps(entries, source);

  const tensors = new Map<string, StTensor>();
  for (const e of entries) {
    const data = decodeTensor(bytes, dataStart + e.begin, e, source);
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}

function parseHeader(headerBytes: Uint8Array, source: string): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new ConfigError(`${source}: header is not valid UTF-8 (${headerBytes.byteLength} bytes)`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ConfigError(`${source}: header is not valid JSON (${why}): ${shown(text)}`);
  }
  if (!isPlainObject(header)) {
    throw new ConfigError(`${source}: header must be a JSON object, got ${shownJson(header)}`);
  }
  return header;
}

function checkMetadata(raw: unknown, source: string): Record<string, string> {
  if (!isPlainObject(raw)) {
    throw new ConfigError(`${source}: ${METADATA_KEY} must be an object of strings, got ${shownJson(raw)}`);
  }
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== 'string') {
      throw new ConfigError(
        `${source}: ${METADATA_KEY} value for ${shown(key)} must be a string, got ${shownJson(value)}`,
      );
    }
  }
  // fromEntries defines own properties, so a key such as "__proto__" stays data.
  return Object.fromEntries(Object.entries(raw as Record<string, string>));
}

function checkEntry(name: string, raw: unknown, dataLen: number, source: string): Entry {
  const where = `${source}: tensor ${shown(name)}`;
  if (!isPlainObject(raw)) {
    throw new ConfigError(`${where} must be an object with dtype, shape and data_offsets, got ${shownJson(raw)}`);
  }
  for (const key of ['dtype', 'shape', 'data_offsets']) {
    if (!Object.hasOwn(raw, key)) throw new ConfigError(`${where} lacks "${key}": ${shownJson(raw)}`);
  }
  const { dtype, shape, data_offsets: offsets } = raw;
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) {
    throw new ConfigError(
      `${where} has unsupported dtype ${shownJson(dtype)} (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`,
    );
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw new ConfigError(`${where} has shape ${shownJson(shape)}; expected an array of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw new ConfigError(
      `${where} has data_offsets ${shownJson(offsets)}; expected [begin, end] non-negative integers`,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) {
    throw new ConfigError(`${where} has data_offsets [${begin}, ${end}] with end before begin`);
  }
  if (end > dataLen) {
    throw new ConfigError(
      `${where} has data_offsets [${begin}, ${end}] past the end of the data section (${dataLen} bytes)`,
    );
  }
  const st = dtype as SafetensorsDType;
  // Overflow-safe: any product past the data section is already a mismatch.
  let elements = 1;
  for (const d of shape as number[]) elements = Math.min(elements * d, Number.MAX_SAFE_INTEGER);
  if (elements * DTYPE_BYTES[st] !== end - begin) {
    throw new ConfigError(
      `${where}: dtype or shape mismatch: ${st} ${shownJson(shape)} needs ${elements} × ${DTYPE_BYTES[st]} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`,
    );
  }
  return { name, dtype: st, shape: shape as number[], begin, end };
}

function checkOverlaps(entries: readonly Entry[], source: string): void {
  // Empty tensors occupy no bytes, so they cannot overlap anything.
  const sorted = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1] as Entry;
    const cur = sorted[i] as Entry;
    if (cur.begin < prev.end) {
      throw new ConfigError(
        `${source}: tensors ${shown(prev.name)} [${prev.begin}, ${prev.end}] and ${shown(cur.name)} [${cur.begin}, ${cur.end}] overlap`,
      );
    }
  }
}

export function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
