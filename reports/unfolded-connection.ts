// The unfolded connection matrix (HC paper, Eqs. 27–29), from token-averaged coefficients:
// c_kj = B^j (Π_{t=j+1}^{k−1} A_r^t) A_m^k, the weight with which sublayer j's output T^j
// (j = −1: the embedding, written to every stream) reaches the input of module k.
import type { ModuleDiagnostics } from './run-data.ts';

export interface UnfoldedConnection {
  /** Modules in order (row k reads, column j wrote); columns start with the embedding. */
  readers: string[];
  writers: string[];
  /** [k][j + 1]; null where j ≥ k (nothing flows backwards). */
  c: (number | null)[][];
}

/** Row vector times matrix, with H'_t = Σ_s A_r[s][t] H_s (src/stats/mixing-metrics.ts). */
function vecMat(v: number[], a: number[][]): number[] {
  return v.map((_, t) => v.reduce((s, vs, si) => s + vs * ((a[si] as number[])[t] as number), 0));
}

const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * (b[i] as number), 0);

export function unfoldedConnection(modules: readonly Pick<ModuleDiagnostics, 'layer' | 'module' | 'mixing' | 'read' | 'write'>[]): UnfoldedConnection {
  const ordered = [...modules].sort((a, b) => a.layer - b.layer || (a.module === b.module ? 0 : a.module === 'attn' ? -1 : 1));
  const names = ordered.map((m) => `L${m.layer} ${m.module}`);
  const n = ordered[0]?.read.length ?? 1;
  const c = ordered.map((reader, k) => {
    const row: (number | null)[] = [];
    // The last module's output reaches only the unembedding: no column for it.
    for (let j = -1; j < ordered.length - 1; j++) {
      if (j >= k) {
        row.push(null);
        continue;
      }
      // What writer j put in each stream, carried through the mixings of modules j+1..k−1.
      let v = j < 0 ? new Array<number>(n).fill(1) : [...(ordered[j] as ModuleDiagnostics).write];
      for (let t = j + 1; t < k; t++) v = vecMat(v, (ordered[t] as ModuleDiagnostics).mixing);
      row.push(dot(v, reader.read));
    }
    return row;
  });
  return { readers: names, writers: ['embed', ...names.slice(0, -1)], c };
}
