// The safetensors checkpoint format: writing (always F32, data 8-byte aligned) and reading files;
// the parser and the types live in safetensors-parse.ts.

import * as fs from 'node:fs';
import { ConfigError, shown, shownJson } from '../errors.ts';
import { type WriteOptions, writeFileAtomic } from './atomic-write.ts';
import { LITTLE_ENDIAN_HOST } from './safetensors-dtypes.ts';
import { isCount, METADATA_KEY, parseSafetensors, type SafetensorsFile } from './safetensors-parse.ts';

export { parseSafetensors } from './safetensors-parse.ts';
export type { SafetensorsDType, SafetensorsFile, StTensor } from './safetensors-parse.ts';

/** Tensors to write: always stored as F32. */
export type StTensorsToWrite = ReadonlyMap<
  string,
  { readonly shape: readonly number[]; readonly data: Float32Array }
>;

/** Serializes tensors as F32 in insertion order; the data section starts 8-byte aligned. */
export function serializeSafetensors(tensors: StTensorsToWrite, metadata: Readonly<Record<string, string>>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header[METADATA_KEY] = { ...metadata };
  let offset = 0;
  for (const [name, { shape, data }] of tensors) {
    if (name === METADATA_KEY) throw new Error(`safetensors: ${METADATA_KEY} is reserved, not a tensor name`);
    const elements = shape.reduce((a, d) => a * d, 1);
    if (!shape.every(isCount) || elements !== data.length) {
      throw new Error(
        `safetensors: tensor ${shown(name)} has shape ${shownJson(shape)} but ${data.length} values`,
      );
    }
    // defineProperty keeps a name such as "__proto__" an ordinary key.
    Object.defineProperty(header, name, {
      value: { dtype: 'F32', shape: [...shape], data_offsets: [offset, offset + 4 * data.length] },
      enumerable: true,
    });
    offset += 4 * data.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLen = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + headerLen);
  let at = 8 + headerLen;
  for (const { data } of tensors.values()) {
    if (LITTLE_ENDIAN_HOST) out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    else for (let i = 0; i < data.length; i++) view.setFloat32(at + 4 * i, data[i] as number, true);
    at += data.byteLength;
  }
  return out;
}

/** Reads and parses a safetensors file; a missing or unreadable file is a ConfigError. */
export function readSafetensorsFile(path: string): SafetensorsFile {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new ConfigError(`${path}: no such safetensors file`);
    throw new ConfigError(`${path}: cannot read safetensors file (${e.code ?? 'error'}: ${e.message})`);
  }
  return parseSafetensors(bytes, path);
}

/** Writes tensors as F32 safetensors, atomically; refuses to overwrite unless `force`. */
export function writeSafetensorsFile(
  path: string,
  tensors: StTensorsToWrite,
  metadata: Readonly<Record<string, string>>,
  opts: WriteOptions = {},
): void {
  writeFileAtomic(path, serializeSafetensors(tensors, metadata), opts);
}
