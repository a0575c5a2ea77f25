// Minimal .npy (NumPy format 1.0) writer and reader for float32 and int32 arrays, so the
// benchmark hands scikit-learn exactly the matrices our probes see.
import { readFileSync, writeFileSync } from 'node:fs';

type Arr = Float32Array | Int32Array;

export function writeNpy(path: string, data: Arr, shape: number[]): void {
  const descr = data instanceof Float32Array ? '<f4' : '<i4';
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += `${' '.repeat((64 - (total % 64)) % 64)}\n`;
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  writeFileSync(path, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

export function readNpy(path: string): { data: Arr; shape: number[] } {
  const buf = readFileSync(path);
  const len = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + len).toString('latin1');
  const shape = (/'shape': \(([^)]*)\)/.exec(header)?.[1] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const body = buf.subarray(10 + len);
  const copy = new Uint8Array(body).buffer;
  const data = header.includes("'<f4'") ? new Float32Array(copy) : new Int32Array(copy);
  return { data, shape };
}
