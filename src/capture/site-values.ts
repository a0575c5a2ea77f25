// The value columns of a capture's shards, computed from the activations runWithCache returns
// for the hooks each site is made of (SITE_SEMANTICS, siteSources).
import type { ModelConfig } from '../model/config.ts';
import { toFloat16Array } from '../io/float16.ts';
import { type CaptureDtype, type CaptureSite, type ShardKey, siteSources, valueColumns } from './schema.ts';

const MODULES = ['attn', 'mlp'] as const;

/** Hook name → the activation's values, as dataSync returns them. */
export type Acts = Map<string, Float32Array>;

/** Hooks that the requested capture sites are computed from; a residual model has no coefficients. */
export function neededHooks(sites: readonly CaptureSite[], layers: readonly number[], c: ModelConfig): Set<string> {
  const names = new Set<string>();
  const coeffs = c.connection.kind !== 'residual';
  for (const layer of layers) {
    for (const module of MODULES) {
      for (const site of sites) {
        const src = siteSources(site, layer, module);
        if (src.tensor) names.add(src.tensor);
        if (coeffs && src.scale) names.add(src.scale);
        if (coeffs) for (const { hook } of src.coeffs) names.add(hook);
      }
    }
  }
  return names;
}

/**
 * Per-stream output buffers, reused from batch to batch: ShardWriter writes a batch's bytes to
 * the file before write() returns, so the next batch may overwrite them. Saves allocating and
 * collecting rows × n × d floats per batch and site.
 */
export interface Scratch {
  f32: Float32Array[];
  f16: Uint16Array[];
}

function reuse<T extends Float32Array | Uint16Array>(list: T[], i: number, length: number, make: (n: number) => T): T {
  const have = list[i];
  if (have && have.length >= length) return have.subarray(0, length) as T;
  const made = make(length);
  list[i] = made;
  return made;
}

/** Value columns of one shard key from the hooked activations (see SITE_SEMANTICS). */
export function siteValues(k: ShardKey, acts: Acts, c: ModelConfig, rows: number, dtype: CaptureDtype, scratch: Scratch): Map<string, Float32Array | Uint16Array> {
  const n = c.nStreams;
  const d = c.dModel;
  const { layer, module } = k;
  const src = siteSources(k.site, layer, module);
  const get = (name: string | null) => acts.get(name as string) as Float32Array;
  // A residual model's one stream is read and written with weight 1.
  const coeff = (hook: string | null, width: number) => (c.connection.kind === 'residual' ? new Float32Array(rows * width).fill(1) : get(hook));
  const out = new Map<string, Float32Array | Uint16Array>();
  if (k.site === 'coeffs') {
    // Each batch's hooked coefficients are a fresh array of their own: written as they are.
    for (const { name, width } of valueColumns('coeffs', c)) out.set(name, coeff(src.coeffs.find((h) => h.column === name)?.hook ?? null, width));
    return out;
  }
  const streams = Array.from({ length: n }, (_, i) => reuse(scratch.f32, i, rows * d, (m) => new Float32Array(m)));
  if (k.site === 'branch_out') {
    const y = get(src.tensor);
    const write = coeff(src.scale, n);
    for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) {
      const w = write[r * n + i] as number;
      const s = streams[i] as Float32Array;
      for (let j = 0; j < d; j++) s[r * d + j] = w * (y[r * d + j] as number);
    }
  } else {
    const H = get(src.tensor);
    const read = src.scale === null ? undefined : coeff(src.scale, n);
    for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) {
      const scale = read ? (read[r * n + i] as number) : 1;
      const s = streams[i] as Float32Array;
      const off = (r * n + i) * d;
      for (let j = 0; j < d; j++) s[r * d + j] = scale * (H[off + j] as number);
    }
  }
  streams.forEach((s, i) => out.set(`stream_${i}`, dtype === 'float16' ? toFloat16Array(s, reuse(scratch.f16, i, s.length, (m) => new Uint16Array(m))) : s));
  return out;
}
