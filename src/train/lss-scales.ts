// The learned stream scaling (LSS, the stream-collapse paper; expand_stream.lss, [n, d]) at a log
// step: each stream's scale norm, their spread across streams, and the whole-tensor summary
// that the reference's inspect_lss.py prints (mean, std, min, max).
import type { ModelConfig } from '../model/config.ts';
import type { Params } from '../model/params.ts';

/** What metrics.jsonl records under `lss` at every log step of a run with LSS init. */
export interface LssScales {
  /** ‖λ_i‖₂ per stream i: the norm of row i of expand_stream.lss. */
  norms: number[];
  /** Mean of λ_i's d entries per stream (the init centre, 0.6 by default, at step 0). */
  means: number[];
  /**
   * Coefficient of variation of the norms across streams, σ(‖λ‖)/μ(‖λ‖) with the population σ:
   * 0 when every stream is scaled alike, growing as one stream's scale pulls away from the rest.
   */
  spread: number;
  /** Over all n·d entries, as inspect_lss.py prints them: mean, std (unbiased, as torch's), min, max. */
  mean: number;
  std: number;
  min: number;
  max: number;
}

/** The scales of a row-major [n, d] LSS matrix (pure). */
export function lssScalesOf(values: ArrayLike<number>, n: number, d: number): LssScales {
  if (values.length !== n * d) throw new Error(`LSS values: expected ${n}×${d} = ${n * d} entries, got ${values.length}`);
  const norms: number[] = [];
  const means: number[] = [];
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    let sq = 0;
    let s = 0;
    for (let t = 0; t < d; t++) {
      const v = values[i * d + t] as number;
      sq += v * v;
      s += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    norms.push(Math.sqrt(sq));
    means.push(s / d);
    sum += s;
  }
  const mean = sum / (n * d);
  let ss = 0;
  for (let k = 0; k < n * d; k++) ss += ((values[k] as number) - mean) ** 2;
  const mu = norms.reduce((a, b) => a + b, 0) / n;
  const sigma = Math.sqrt(norms.reduce((a, b) => a + (b - mu) ** 2, 0) / n);
  return { norms, means, spread: mu > 0 ? sigma / mu : 0, mean, std: n * d > 1 ? Math.sqrt(ss / (n * d - 1)) : 0, min, max };
}

/** The run's LSS scales, or undefined when its streams are not expanded by LSS. */
export function lssScales(p: Params, c: ModelConfig): LssScales | undefined {
  if (c.streamInit.kind !== 'lss') return undefined;
  const v = p.get('expand_stream.lss');
  if (!v) return undefined;
  // Reads the variable's values; allocates no tensor.
  return lssScalesOf(v.dataSync() as ArrayLike<number>, c.nStreams, c.dModel);
}
