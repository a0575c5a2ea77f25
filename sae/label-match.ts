// Latents against planted labels (docs/metrics.md, §5): the Pearson correlation of each latent's
// activation with the indicator of each label value, over the tokens where the label applies
// (label ≠ −1); for each value, the best latent by |corr|. Sums accumulate in float64.
import type { SparseCodes } from './sparse-codes.ts';

export interface LabelSpecLike {
  name: string;
  values: string[];
}

export interface LabelCorrelations {
  labels: LabelSpecLike[];
  m: number;
  /** Per label, per value: corr for each latent [m]. */
  corr: Float64Array[][];
}

export function labelCorrelations(codes: SparseCodes, m: number, labels: LabelSpecLike[], ids: Map<string, Int32Array>): LabelCorrelations {
  const corr = labels.map((spec) => {
    const y = ids.get(spec.name) as Int32Array;
    const k = spec.values.length;
    const s1 = new Float64Array(m);
    const s2 = new Float64Array(m);
    const sy = Array.from({ length: k }, () => new Float64Array(m));
    const nv = new Float64Array(k);
    let n = 0;
    for (let r = 0; r < codes.rows; r++) {
      const v = y[r] as number;
      if (v < 0 || v >= k) continue;
      n++;
      nv[v] = (nv[v] as number) + 1;
      const syv = sy[v] as Float64Array;
      for (let q = codes.rowPtr[r] as number; q < (codes.rowPtr[r + 1] as number); q++) {
        const i = codes.idx[q] as number;
        const a = codes.val[q] as number;
        s1[i] = (s1[i] as number) + a;
        s2[i] = (s2[i] as number) + a * a;
        syv[i] = (syv[i] as number) + a;
      }
    }
    return sy.map((syv, v) => {
      const p = n > 0 ? (nv[v] as number) / n : 0;
      const sdY = Math.sqrt(p * (1 - p));
      const out = new Float64Array(m);
      for (let i = 0; i < m; i++) {
        const mf = (s1[i] as number) / Math.max(n, 1);
        const varF = (s2[i] as number) / Math.max(n, 1) - mf * mf;
        const cov = (syv[i] as number) / Math.max(n, 1) - mf * p;
        out[i] = varF > 1e-12 && sdY > 0 ? cov / (Math.sqrt(varF) * sdY) : 0;
      }
      return out;
    });
  });
  return { labels, m, corr };
}

export interface BestLatent {
  label: string;
  value: string;
  latent: number;
  corr: number;
}

/** For each label value, the latent with the largest |corr|. */
export function bestLatents(c: LabelCorrelations): BestLatent[] {
  return c.labels.flatMap((spec, l) =>
    spec.values.map((value, v) => {
      const row = (c.corr[l] as Float64Array[])[v] as Float64Array;
      let best = 0;
      for (let i = 1; i < c.m; i++) if (Math.abs(row[i] as number) > Math.abs(row[best] as number)) best = i;
      return { label: spec.name, value, latent: best, corr: (row[best] as number) ?? 0 };
    }),
  );
}

/** The `top` label values most correlated (by |corr|) with latent i. */
export function topLabelsOf(c: LabelCorrelations, i: number, top: number): { label: string; value: string; corr: number }[] {
  const all = c.labels.flatMap((spec, l) => spec.values.map((value, v) => ({ label: spec.name, value, corr: ((c.corr[l] as Float64Array[])[v] as Float64Array)[i] as number })));
  return all.sort((a, b) => Math.abs(b.corr) - Math.abs(a.corr)).slice(0, top);
}
