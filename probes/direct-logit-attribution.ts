// Direct logit attribution (DLA) per source × final stream along the unfolded connection paths
// (HC paper, Eqs. 27–29, taken per token): H_i^L = Σ_s P[s,i] H⁰_s + Σ_k w_k[i] T_k(x), with
// P = Π_t A_r^t and w_k = B_k Π_{t>k} A_r^t; ln_f's scale frozen per token and stream makes it exact.
import { tf, type Tensor } from '../src/engine/tf.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { hookName, type Sublayer } from '../src/model/hooks.ts';
import { param, type Params } from '../src/model/params.ts';
import { disposeCachedRun, runWithCache } from '../src/model/run-with-cache.ts';
import type { DirectLogitAttribution, DlaBaseline } from './results-schema.ts';

/** ln_f's eps (nn.LayerNorm's default, as src/engine/ops/norms.ts). */
const LN_EPS = 1e-5;

/** Per token: the pieces of the correct-token logit, the model's logit and the ln_f bias part. */
export interface TokenAttribution {
  tokens: number;
  nStreams: number;
  /** 'embed', then '0.attn', '0.mlp', … in forward order. */
  sources: string[];
  /** [token][source][stream], row-major. */
  values: Float64Array;
  /** [token] the model's logit of the target (minus the mean logit for baseline 'mean_logit'). */
  logit: Float64Array;
  /** [token] Σ_i b·u: the ln_f bias' part of `logit`, which no source carries. */
  lnBias: Float64Array;
}

const MODULES: Sublayer[] = ['attn', 'mlp'];

/**
 * One forward of x (int32 [B, T]) with targets y ([B, T]): every token's logit of y (as `baseline`
 * says) split over (source, final stream). Σ values + lnBias = logit up to float error.
 */
export function tokenAttribution(params: Params, c: ModelConfig, x: Tensor, y: Tensor, baseline: DlaBaseline = 'mean_logit'): TokenAttribution {
  const { nLayers: L, nStreams: n, dModel: d, vocabSize: V } = c;
  const kind = c.connection.kind;
  // The split needs H' = A_rᵀH + B·T(x) and ln_f per stream, summed: the residual and the HC family only.
  if (kind !== 'residual' && kind !== 'hc' && kind !== 'mhc' && kind !== 'mhc-lite') throw new Error(`direct logit attribution does not cover the ${kind} connection`);
  const hc = kind !== 'residual';
  const modules = Array.from({ length: L }, (_, l) => MODULES.map((module) => ({ layer: l, module }))).flat();
  const K = modules.length;
  const first = hookName({ kind: 'resid_pre', layer: 0 });
  const last = hookName({ kind: 'resid_post', layer: L - 1 });
  const outs = modules.map((m) => hookName({ kind: 'branch_out', ...m }));
  const writes = hc ? modules.map((m) => hookName({ kind: 'write', ...m })) : [];
  const mixings = hc ? modules.map((m) => hookName({ kind: 'mixing', ...m })) : [];
  const run = runWithCache(params, c, x, [first, last, ...outs, ...writes, ...mixings]);
  let g: Float32Array[];
  let g0: Float32Array;
  let sigma: Float32Array;
  let logitArr: Float32Array;
  let biasArr: Float32Array;
  let writeArr: Float32Array[];
  let mixArr: Float32Array[];
  try {
    const get = (name: string) => run.cache.get(name) as Tensor;
    [g, g0, sigma, logitArr, biasArr] = tf.tidy(() => {
      const N = (x.shape[0] as number) * (x.shape[1] as number);
      const wte = param(params, 'transformer.wte.weight'); // [V, d]
      const targets = tf.reshape(y, [N]);
      const raw = tf.gather(wte, targets); // [N, d]
      // The logit difference against the mean logit is the logit of u = wte[y] − mean_v wte[v].
      const u = baseline === 'mean_logit' ? tf.sub(raw, tf.mean(wte, 0)) : raw; // [N, d]
      const wu = tf.mul(u, param(params, 'transformer.ln_f.weight')); // [N, d]: ln_f's weight folded in
      const centred = (h: Tensor) => tf.sub(h, tf.mean(h, -1, true));
      const gk = outs.map((name) => tf.sum(tf.mul(centred(tf.reshape(get(name), [N, d])), wu), -1).dataSync() as Float32Array); // K × [N]
      const e = tf.sum(tf.mul(centred(tf.reshape(get(first), [N, n, d])), tf.expandDims(wu, 1)), -1); // [N, n]
      const { variance } = tf.moments(tf.reshape(get(last), [N, n, d]), -1);
      const s = tf.sqrt(tf.add(variance, LN_EPS)); // [N, n]: the frozen ln_f scale of each final stream
      const logits = tf.reshape(run.logits, [N, V]);
      let lg = tf.sum(tf.mul(logits, tf.oneHot(targets, V)), -1); // [N]
      if (baseline === 'mean_logit') lg = tf.sub(lg, tf.mean(logits, -1));
      const b = params.get('transformer.ln_f.bias');
      const bias = b ? tf.mul(tf.sum(tf.mul(u, b), -1), n) : tf.zeros([N]); // [N]
      return [gk, e.dataSync(), s.dataSync(), lg.dataSync(), bias.dataSync()] as [Float32Array[], Float32Array, Float32Array, Float32Array, Float32Array];
    });
    writeArr = writes.map((name) => get(name).dataSync() as Float32Array); // K × [N·n]
    mixArr = mixings.map((name) => get(name).dataSync() as Float32Array); // K × [N·n·n]
  } finally {
    disposeCachedRun(run);
  }
  const N = logitArr.length;
  const S = K + 1;
  const values = new Float64Array(N * S * n);
  let R = new Float64Array(n * n);
  let next = new Float64Array(n * n);
  for (let t = 0; t < N; t++) {
    // R = Π_{k' > k} A_r^{k'}, built from the last module backwards.
    R.fill(0);
    for (let i = 0; i < n; i++) R[i * n + i] = 1;
    for (let k = K - 1; k >= 0; k--) {
      const gkt = (g[k] as Float32Array)[t] as number;
      const wk = writeArr[k];
      for (let i = 0; i < n; i++) {
        let w = 0;
        for (let s = 0; s < n; s++) w += (wk ? (wk[t * n + s] as number) : 1) * (R[s * n + i] as number);
        values[(t * S + k + 1) * n + i] = (w * gkt) / (sigma[t * n + i] as number);
      }
      const mk = mixArr[k];
      if (!mk) continue; // the residual connection: A_r = 1
      next.fill(0);
      for (let s = 0; s < n; s++) {
        for (let r = 0; r < n; r++) {
          const a = mk[t * n * n + s * n + r] as number;
          if (a === 0) continue;
          for (let i = 0; i < n; i++) next[s * n + i] = (next[s * n + i] as number) + a * (R[r * n + i] as number);
        }
      }
      [R, next] = [next, R];
    }
    for (let i = 0; i < n; i++) {
      let e = 0;
      for (let s = 0; s < n; s++) e += (R[s * n + i] as number) * (g0[t * n + s] as number);
      values[t * S * n + i] = e / (sigma[t * n + i] as number);
    }
  }
  return {
    tokens: N,
    nStreams: n,
    sources: ['embed', ...modules.map((m) => `${m.layer}.${m.module}`)],
    values,
    logit: Float64Array.from(logitArr),
    lnBias: Float64Array.from(biasArr),
  };
}

/** Token means of the DLA over evaluation batches, with the decomposition's largest error as its check. */
export function directLogitAttribution(
  params: Params,
  c: ModelConfig,
  batches: readonly { x: Tensor; y: Tensor }[],
  onBatch: () => void = () => {},
  baseline: DlaBaseline = 'mean_logit',
): DirectLogitAttribution {
  const n = c.nStreams;
  let sources: string[] = [];
  let sums = new Float64Array(0);
  let tokens = 0;
  let logit = 0;
  let lnBias = 0;
  let maxErr = 0;
  for (const b of batches) {
    const a = tokenAttribution(params, c, b.x, b.y, baseline);
    const S = a.sources.length;
    if (sums.length === 0) {
      sources = a.sources;
      sums = new Float64Array(S * n);
    }
    for (let t = 0; t < a.tokens; t++) {
      let total = 0;
      for (let j = 0; j < S * n; j++) {
        const v = a.values[t * S * n + j] as number;
        sums[j] = (sums[j] as number) + v;
        total += v;
      }
      const lg = a.logit[t] as number;
      const bias = a.lnBias[t] as number;
      maxErr = Math.max(maxErr, Math.abs(total + bias - lg));
      logit += lg;
      lnBias += bias;
    }
    tokens += a.tokens;
    onBatch();
  }
  const matrix = sources.map((_, s) => Array.from({ length: n }, (_, i) => (sums[s * n + i] as number) / Math.max(1, tokens)));
  return {
    baseline,
    tokens,
    sources,
    matrix,
    per_stream: Array.from({ length: n }, (_, i) => matrix.reduce((acc, row) => acc + (row[i] as number), 0)),
    per_source: matrix.map((row) => row.reduce((acc, v) => acc + v, 0)),
    ln_bias: lnBias / Math.max(1, tokens),
    logit: logit / Math.max(1, tokens),
    max_abs_error: maxErr,
  };
}
