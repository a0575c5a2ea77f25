// The unfolded connection matrix (HC paper, Eqs. 27–29): how much of sublayer j's output T^j
// reaches the input of module k > j through the linear part of the network. With one value per
// stream as a row vector h and A_r[s][t] mixing stream s into t, a module maps h ↦ h·A_r + B·T(x)
// and reads x = h·A_m, so c_kj = B^j (Π_{t=j+1}^{k−1} A_r^t) A_m^k, the product in forward order.
import type { Matrix } from './mixing-metrics.ts';

export interface ModuleCoefficients {
  /** A_m [n] */
  read: number[];
  /** A_r [n][n], [s][t] mixes stream s into t */
  mixing: Matrix;
  /** B [n] */
  write: number[];
}

export interface Unfolded {
  /** c[k][j] for modules in forward order; zero where j ≥ k. [2L][2L] */
  matrix: Matrix;
  /** Weight of the embedding h⁰ (copied into every stream) in module k's input: 1ᵀ (Π_{t<k} A_r^t) A_m^k. */
  embed: number[];
  /** Weight of T^j in the sum of streams that is unembedded: B^j (Π_{t>j} A_r^t) 1. */
  output: number[];
}

/** v·M for a row vector v. */
function rowTimes(v: number[], m: Matrix): number[] {
  return (m[0] as number[]).map((_, t) => v.reduce((s, x, i) => s + x * ((m[i] as number[])[t] as number), 0));
}

const dotv = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * (b[i] as number), 0);

export function unfoldedConnections(modules: ModuleCoefficients[]): Unfolded {
  const K = modules.length;
  const matrix: Matrix = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  const output = new Array<number>(K).fill(0);
  for (let j = 0; j < K; j++) {
    let v = (modules[j] as ModuleCoefficients).write; // what T^j writes into each stream
    for (let k = j + 1; k < K; k++) {
      const mod = modules[k] as ModuleCoefficients;
      (matrix[k] as number[])[j] = dotv(v, mod.read);
      v = rowTimes(v, mod.mixing);
    }
    output[j] = v.reduce((s, x) => s + x, 0);
  }
  const n = modules[0]?.read.length ?? 0;
  let h = new Array<number>(n).fill(1);
  const embed = modules.map((mod) => {
    const c = dotv(h, mod.read);
    h = rowTimes(h, mod.mixing);
    return c;
  });
  return { matrix, embed, output };
}

/** Π_t A_r^t in forward order: the linear map of the residual path from first input to last output. */
export function mixingProduct(mixings: Matrix[]): Matrix {
  const n = mixings[0]?.length ?? 0;
  let p: Matrix = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (const m of mixings) p = p.map((row) => rowTimes(row, m));
  return p;
}
