// The probe input for "all streams" of a site (SPEC §4, the summed streams): Σ_i H_i for kinds whose
// streams are parallel copies of the hidden state, the concatenation [H_1 … H_m] for Frac-connections,
// whose fractions together are the hidden state (docs/model.md, `frac`).
import type { ConnectionKind } from '../src/model/config.ts';

/** streams: n arrays [rows, w] → the whole-state rows and their width. */
export function wholeState(kind: ConnectionKind, streams: readonly Float32Array[], w: number): { x: Float32Array; dim: number } {
  const n = streams.length;
  const rows = n === 0 ? 0 : (streams[0] as Float32Array).length / w;
  if (kind === 'frac') {
    const x = new Float32Array(rows * n * w);
    for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) x.set((streams[i] as Float32Array).subarray(r * w, (r + 1) * w), (r * n + i) * w);
    return { x, dim: n * w };
  }
  const x = new Float32Array(rows * w);
  for (const s of streams) for (let k = 0; k < x.length; k++) x[k] = (x[k] as number) + (s[k] as number);
  return { x, dim: w };
}
