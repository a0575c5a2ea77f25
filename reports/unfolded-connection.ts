// The unfolded connection matrix (HC paper, Eqs. 27–29) as a table to draw: rows are the
// reading modules k, columns the embedding and each sublayer output j < k (src/stats/unfolded.ts
// holds the maths: c_kj = B^j (Π_{t=j+1}^{k−1} A_r^t) A_m^k).
import type { HcDiagnostics } from './run-data.ts';

export interface UnfoldedTable {
  readers: string[];
  /** "embed", then every module but the last (whose output only reaches the unembedding). */
  writers: string[];
  /** [k][j + 1]; null where j ≥ k (nothing flows backwards). */
  c: (number | null)[][];
}

/** From a square matrix (zero where j ≥ k) and the embedding's column, as diagnostics.json stores them. */
export function unfoldedTable(modules: readonly string[], matrix: readonly (readonly number[])[], embed: readonly number[]): UnfoldedTable {
  const K = modules.length;
  return {
    readers: [...modules],
    writers: ['embed', ...modules.slice(0, K - 1)],
    c: modules.map((_, k) => [embed[k] ?? null, ...Array.from({ length: K - 1 }, (_, j) => (j < k ? (matrix[k]?.[j] ?? null) : null))]),
  };
}

/** From metrics.jsonl's diagnostics (modules in forward order); undefined for older runs that lack it. */
export function unfoldedFromDiagnostics(hc: Pick<HcDiagnostics, 'modules' | 'unfolded'>): UnfoldedTable | undefined {
  if (!hc.unfolded) return undefined;
  return unfoldedTable(hc.modules.map((m) => `L${m.layer} ${m.module}`), hc.unfolded.matrix, hc.unfolded.embed);
}
