// The value columns of a capture's shards, computed from the activations runWithCache returns
// for the hooks each site is made of (SITE_SEMANTICS, siteSources).
import type { ModelConfig } from '../model/config.ts';
import { toFloat16Array } from '../io/float16.ts';
import { hasCoefficients, streamWidth } from '../model/stream-layout.ts';
import { fixedWeights, kindSiteSources } from './kind-sites.ts';
import { type CaptureDtype, type CaptureSite, type ShardKey, valueColumns } from './schema.ts';

const MODULES = ['attn', 'mlp'] as const;

/** Hook name → the activation's values, as dataSync returns them. */
export type Acts = Map<string, Float32Array>;

/** Hooks that the requested capture sites are computed from; a residual model has no coefficients. */
export function neededHooks(sites: readonly CaptureSite[], layers: readonly number[], c: ModelConfig): Set<string> {
  const names = new Set<string>();
  const coeffs = hasCoefficients(c.connection.kind);
  for (const layer of layers) {
    for (const module of MODULES) {
      for (const site of sites) {
        const src = kindSiteSources(site, layer, module, c);
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
  const d = streamWidth(c);
  const { layer, module } = k;
  const src = kindSiteSources(k.site, layer, module, c);
  const get = (name: string | null) => acts.get(name as string) as Float32Array;
  const frac = c.connection.kind === 'frac';
  // Kinds without coefficients read and write with fixed weights (kind-sites.ts): 1 for residual.
  const fixed = (hook: string | null, width: number) => {
    const row = fixedWeights(c, hook?.endsWith('hook_read') ? 'read' : hook?.endsWith('hook_write') ? 'write' : 'mixing');
    return Float32Array.from({ length: rows * width }, (_, i) => row[i % width] as number);
  };
  // Frac's read hook is Γ [rows, m, m]: its `read` column is each fraction's read mass Σ_j Γ[s, j].
  const rowSums = (g: Float32Array) => Float32Array.from({ length: rows * n }, (_, i) => g.subarray(i * n, (i + 1) * n).reduce((a, b) => a + b, 0));
  const coeff = (hook: string | null, width: number) =>
    !hasCoefficients(c.connection.kind) ? fixed(hook, width) : frac && hook?.endsWith('hook_read') ? rowSums(get(hook)) : get(hook);
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
      const off = frac ? (r * n + i) * d : r * d; // frac: output fraction i of T(x)
      for (let j = 0; j < d; j++) s[r * d + j] = w * (y[off + j] as number);
    }
  } else {
    const H = get(src.tensor);
    const read = src.scale === null ? undefined : coeff(src.scale, n);
    for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) {
      const s = streams[i] as Float32Array;
      const off = (r * n + i) * d;
      if (!read) {
        s.set(H.subarray(off, off + d), r * d); // the stream itself: a copy, 3–4× faster than the loop
        continue;
      }
      const scale = read[r * n + i] as number;
      for (let j = 0; j < d; j++) s[r * d + j] = scale * (H[off + j] as number);
    }
  }
  streams.forEach((s, i) => out.set(`stream_${i}`, dtype === 'float16' ? toFloat16Array(s, reuse(scratch.f16, i, s.length, (m) => new Uint16Array(m))) : s));
  return out;
}
