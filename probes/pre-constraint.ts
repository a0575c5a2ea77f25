// Mixing before its constraint, after the stream-collapse paper's analyze/h_and_nu.py, per token
// on validation windows: ν = max − min of A_r's logits before the constraint (mhc: the n×n matrix
// R entering Sinkhorn, the reference's H_res_bef; mhc-lite: the n! permutation logits), the column
// sums Σ_s A_r[s][t] of each module and of the per-token product Π_k A_r^k in forward order, and
// for mhc-lite the entropy of the permutation weights. Token-level spread, not only means.
import { factorial } from '../src/engine/permutations.ts';
import { tf, type Tensor } from '../src/engine/tf.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { hookName, type Sublayer } from '../src/model/hooks.ts';
import type { Params } from '../src/model/params.ts';
import { disposeCachedRun, runWithCache } from '../src/model/run-with-cache.ts';

/** The reference's threshold: the share of matrices with ν above it is printed as "%>30". */
export const NU_THRESHOLD = 30;
/** Bins of the ν histogram, as the reference's `ax.hist(..., bins=50)`. */
export const NU_BINS = 50;

/** Spread over tokens of a per-token quantity: mean, population std, min, 5/25/50/75/95% quantiles (linear interpolation), max. */
export interface TokenQuantiles {
  mean: number;
  std: number;
  min: number;
  q05: number;
  q25: number;
  q50: number;
  q75: number;
  q95: number;
  max: number;
}

/**
 * ν = max − min over one token's pre-constraint logits of one module. For mhc this is the
 * reference's histogram axis: with K = exp(R), max R − min R = log(max K / min K) = log(1/ν_S),
 * ν_S = min K / max K the constant of Sinkhorn's convergence rate; large values mean the Sinkhorn
 * input is far from uniform and 20 iterations may leave it far from doubly stochastic. For mhc-lite
 * it is the spread of the n! permutation logits (e^ν = largest / smallest permutation weight); the
 * reference computes no ν for mhc-lite (only its mhc analysis module logs H_res_bef), so there it
 * has no counterpart in the paper and no Sinkhorn meaning.
 */
export interface NuSummary {
  over: 'sinkhorn_input' | 'permutation_logits';
  /** Entries per token and module: n² (mhc) or n! (mhc-lite). */
  entries: number;
  threshold: number;
  /** Share of (token, module) pairs with ν > threshold. */
  share_above: number;
  /** Over every (token, module) pair. */
  spread: TokenQuantiles;
  /** counts[b] of ν in [lo + b·w, lo + (b+1)·w), w = (hi − lo)/counts.length, the last bin closed; hi = max(largest ν, threshold). */
  histogram: { lo: number; hi: number; counts: number[] };
  /** Per module, forward order. */
  per_module: { spread: TokenQuantiles; share_above: number }[];
}

/** Column sums Σ_s M[s][t] per token: 1 for every t when M is column stochastic. */
export interface ColumnSumSummary {
  /** [t]: over every token (and, for A_r, every module), as the reference pools them. */
  per_column: TokenQuantiles[];
  /** max |Σ_s M[s][t] − 1| over tokens, columns (and modules). */
  max_abs_deviation: number;
}

/** mHC-lite's permutation weights w = softmax(logits) per token and module. */
export interface PermutationSummary {
  n_permutations: number;
  /** H(w) / log n! per token: 0 when one permutation has all the weight, 1 when uniform. */
  entropy: TokenQuantiles;
  per_module_entropy: TokenQuantiles[];
  /** Share of (token, module) pairs whose largest weight is the identity permutation. */
  identity_top_share: number;
  per_module_identity_top_share: number[];
}

export interface PreConstraintDiagnostics {
  checkpoint: string;
  connection: 'hc' | 'mhc' | 'mhc-lite';
  /** Evaluation tokens (positions of every window). */
  tokens: number;
  /** Module labels in forward order: "0.attn", "0.mlp", "1.attn", … */
  modules: string[];
  /** Null for hc: its A_r has no constraint, hence no logits before one. */
  nu: NuSummary | null;
  /** Σ_s A_r[s][t] per token, pooled over modules, and per module ([module][t]). */
  column_sums: ColumnSumSummary & { per_module: TokenQuantiles[][] };
  /** Column sums of the per-token product A_r^0 A_r^1 … A_r^(2L−1) (forward order). */
  product_column_sums: ColumnSumSummary;
  /** mhc-lite with n ≥ 2 only. */
  permutations: PermutationSummary | null;
}

export interface PreConstraintInput {
  params: Params;
  config: ModelConfig;
  checkpoint: string;
  /** Windows of at least blockSize tokens; the first blockSize are the input. */
  windows: Int32Array[];
  batch: number;
}

const MODULES: Sublayer[] = ['attn', 'mlp'];

/** The HC family's A_r (frac's mixing of fractions and the kinds without coefficients are not covered). */
const hasHcMixing = (c: ModelConfig) => c.connection.kind === 'hc' || c.connection.kind === 'mhc' || c.connection.kind === 'mhc-lite';

/** Forward passes this takes: one per batch; none for the kinds without an HC A_r (residual, …). */
export function preConstraintPasses(o: Pick<PreConstraintInput, 'config' | 'windows' | 'batch'>): number {
  return hasHcMixing(o.config) ? Math.ceil(o.windows.length / o.batch) : 0;
}

/** The diagnostics over validation windows, or null for a kind without an HC A_r (residual, …). */
export function preConstraintDiagnostics(o: PreConstraintInput, onProgress: (done: number, total: number) => void = () => {}): PreConstraintDiagnostics | null {
  if (!hasHcMixing(o.config)) return null;
  const T = o.config.blockSize;
  const batches: Tensor[] = [];
  try {
    for (let b0 = 0; b0 < o.windows.length; b0 += o.batch) {
      const w = o.windows.slice(b0, b0 + o.batch);
      const x = new Int32Array(w.length * T);
      w.forEach((win, i) => x.set(win.subarray(0, T), i * T));
      batches.push(tf.tensor2d(x, [w.length, T], 'int32'));
    }
    let done = 0;
    return preConstraintOfBatches(o.params, o.config, batches, o.checkpoint, () => onProgress(++done, batches.length));
  } finally {
    for (const b of batches) b.dispose();
  }
}

/** Growable list of per-token values. */
class Values {
  private buf = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  values(): Float64Array {
    return this.buf.subarray(0, this.length);
  }
}

/** Quantiles, mean and population std of the values (sorted in place). */
export function tokenQuantiles(values: Float64Array): TokenQuantiles {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, std: Number.NaN, min: Number.NaN, q05: Number.NaN, q25: Number.NaN, q50: Number.NaN, q75: Number.NaN, q95: Number.NaN, max: Number.NaN };
  values.sort();
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  let sq = 0;
  for (const v of values) sq += (v - mean) * (v - mean);
  // Linear interpolation between order statistics (numpy's default, R's type 7).
  const q = (p: number) => {
    const h = (n - 1) * p;
    const i = Math.floor(h);
    const a = values[i] as number;
    return i + 1 < n ? a + (h - i) * ((values[i + 1] as number) - a) : a;
  };
  return { mean, std: Math.sqrt(sq / n), min: values[0] as number, q05: q(0.05), q25: q(0.25), q50: q(0.5), q75: q(0.75), q95: q(0.95), max: values[n - 1] as number };
}

function concat(parts: Values[]): Float64Array {
  const out = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p.values(), at);
    at += p.length;
  }
  return out;
}

function maxAbsDeviation(values: Float64Array): number {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v - 1));
  return m;
}

const shareAbove = (values: Float64Array, threshold: number) => values.reduce((s, v) => s + (v > threshold ? 1 : 0), 0) / Math.max(1, values.length);

/** counts of `values` in `bins` equal bins over [lo, hi], the last bin closed. */
export function binCounts(values: Float64Array, lo: number, hi: number, bins: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  const w = (hi - lo) / bins;
  for (const v of values) {
    if (!(v >= lo && v <= hi)) continue;
    const b = Math.min(bins - 1, Math.floor((v - lo) / w));
    counts[b] = (counts[b] as number) + 1;
  }
  return counts;
}

/**
 * The diagnostics over token batches (int32 [B, T] each), one forward per batch that caches every
 * module's A_r (blocks.l.hc_m.hook_mixing) and, for mhc and mhc-lite, its logits before the
 * constraint (blocks.l.hc_m.hook_mixing_logits). Only for hc, mhc and mhc-lite.
 */
export function preConstraintOfBatches(params: Params, c: ModelConfig, batches: readonly Tensor[], checkpoint: string, onPass: () => void = () => {}): PreConstraintDiagnostics {
  const kind = c.connection.kind;
  if (kind !== 'hc' && kind !== 'mhc' && kind !== 'mhc-lite') throw new Error(`the ${kind} model has no HC mixing`);
  const n = c.nStreams;
  const sites = Array.from({ length: c.nLayers }, (_, layer) => MODULES.map((module) => ({ layer, module }))).flat();
  const K = sites.length;
  const constrained = kind === 'mhc' || kind === 'mhc-lite';
  const entries = kind === 'mhc-lite' ? factorial(n) : n * n;
  const withPerms = kind === 'mhc-lite' && entries > 1;
  const mixingNames = sites.map(({ layer, module }) => hookName({ kind: 'mixing', layer, module }));
  const logitNames = constrained ? sites.map(({ layer, module }) => hookName({ kind: 'mixing_logits', layer, module })) : [];

  const colSums = Array.from({ length: K }, () => Array.from({ length: n }, () => new Values()));
  const prodColSums = Array.from({ length: n }, () => new Values());
  const nu = Array.from({ length: K }, () => new Values());
  const entropy = Array.from({ length: K }, () => new Values());
  const identityTop = new Array<number>(K).fill(0);
  const logNPerm = Math.log(entries);
  let tokens = 0;

  let prod = new Float64Array(n * n);
  let next = new Float64Array(n * n);
  for (const x of batches) {
    const run = runWithCache(params, c, x, [...mixingNames, ...logitNames]);
    let mixing: Float32Array[];
    let logits: Float32Array[];
    try {
      mixing = mixingNames.map((name) => (run.cache.get(name) as Tensor).dataSync().slice() as Float32Array); // [B*T*n*n] each
      logits = logitNames.map((name) => (run.cache.get(name) as Tensor).dataSync().slice() as Float32Array); // [B*T*entries] each
    } finally {
      disposeCachedRun(run);
    }
    const rows = (x.shape[0] as number) * (x.shape[1] as number);
    for (let r = 0; r < rows; r++) {
      prod.fill(0);
      for (let i = 0; i < n; i++) prod[i * n + i] = 1;
      for (let k = 0; k < K; k++) {
        const a = (mixing[k] as Float32Array).subarray(r * n * n, (r + 1) * n * n); // A_r[s][t] at s·n + t
        for (let t = 0; t < n; t++) {
          let s = 0;
          for (let i = 0; i < n; i++) s += a[i * n + t] as number;
          ((colSums[k] as Values[])[t] as Values).push(s);
        }
        // prod ← prod · A_r^k
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let m = 0; m < n; m++) s += (prod[i * n + m] as number) * (a[m * n + j] as number);
            next[i * n + j] = s;
          }
        }
        [prod, next] = [next, prod];
        if (!constrained) continue;
        const l = (logits[k] as Float32Array).subarray(r * entries, (r + 1) * entries);
        let lo = Number.POSITIVE_INFINITY;
        let hi = Number.NEGATIVE_INFINITY;
        let top = 0;
        for (let e = 0; e < entries; e++) {
          const v = l[e] as number;
          if (v < lo) lo = v;
          if (v > hi) {
            hi = v;
            top = e;
          }
        }
        (nu[k] as Values).push(hi - lo);
        if (!withPerms) continue;
        // H(w) = log Z − Σ_e w_e (l_e − max), w = softmax(l), Z = Σ_e exp(l_e − max).
        let z = 0;
        let dot = 0;
        for (let e = 0; e < entries; e++) {
          const u = (l[e] as number) - hi;
          const w = Math.exp(u);
          z += w;
          dot += w * u;
        }
        (entropy[k] as Values).push(Math.max(0, Math.log(z) - dot / z) / logNPerm);
        if (top === 0) identityTop[k] = (identityTop[k] as number) + 1;
      }
      for (let t = 0; t < n; t++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += prod[i * n + t] as number;
        (prodColSums[t] as Values).push(s);
      }
    }
    tokens += rows;
    onPass();
  }

  const perColumn = Array.from({ length: n }, (_, t) => concat(colSums.map((m) => m[t] as Values)));
  const allColumns = concat(colSums.flat());
  const prodColumns = prodColSums.map((v) => v.values());
  const prodAll = concat(prodColSums);
  let nuSummary: NuSummary | null = null;
  if (constrained) {
    const all = concat(nu);
    const largest = all.reduce((m, v) => Math.max(m, v), 0);
    const hi = Math.max(largest, NU_THRESHOLD);
    nuSummary = {
      over: kind === 'mhc' ? 'sinkhorn_input' : 'permutation_logits',
      entries,
      threshold: NU_THRESHOLD,
      share_above: shareAbove(all, NU_THRESHOLD),
      histogram: { lo: 0, hi, counts: binCounts(all, 0, hi, NU_BINS) },
      per_module: nu.map((v) => ({ share_above: shareAbove(v.values(), NU_THRESHOLD), spread: tokenQuantiles(v.values().slice()) })),
      spread: tokenQuantiles(all),
    };
  }
  const permutations: PermutationSummary | null = withPerms
    ? {
        n_permutations: entries,
        entropy: tokenQuantiles(concat(entropy)),
        per_module_entropy: entropy.map((v) => tokenQuantiles(v.values().slice())),
        identity_top_share: identityTop.reduce((s, v) => s + v, 0) / Math.max(1, tokens * K),
        per_module_identity_top_share: identityTop.map((v) => v / Math.max(1, tokens)),
      }
    : null;
  return {
    checkpoint,
    connection: kind,
    tokens,
    modules: sites.map(({ layer, module }) => `${layer}.${module}`),
    nu: nuSummary,
    column_sums: {
      max_abs_deviation: maxAbsDeviation(allColumns),
      per_column: perColumn.map(tokenQuantiles),
      per_module: colSums.map((m) => m.map((v) => tokenQuantiles(v.values().slice()))),
    },
    product_column_sums: { max_abs_deviation: maxAbsDeviation(prodAll), per_column: prodColumns.map((v) => tokenQuantiles(v.slice())) },
    permutations,
  };
}
