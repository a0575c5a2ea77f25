// Does the model use its residual mixing? Validation CE when every module's mixing A_r is replaced
// (identity; off-diagonal zeroed; every coefficient frozen at its token mean; streams cyclically
// shifted), against the unmodified model, with a paired 95% t-interval over evaluation batches.
// If the identity costs nothing, the mixing is not used: the "mixing stays near identity" claim,
// tested causally. If the shift costs nothing, the streams are interchangeable.
import { meanInterval } from '../src/stats/t-interval.ts';
import { tf, type Tensor } from '../src/engine/tf.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { type HookFn, hookName, type Sublayer } from '../src/model/hooks.ts';
import type { Params } from '../src/model/params.ts';
import { disposeCachedRun, runWithCache } from '../src/model/run-with-cache.ts';
import { crossEntropy, forward } from '../src/model/transformer.ts';
import type { MixingIntervention, MixingInterventionName } from './results-schema.ts';

export interface EvalBatch {
  x: Tensor; // [B, T] int32
  y: Tensor; // [B, T] int32
}

const MODULES: Sublayer[] = ['attn', 'mlp'];
const COEFFS = ['read', 'mixing', 'write'] as const;

/** Forward passes this takes: the clean pass with the coefficient cache, then one per intervention. */
export function interventionPasses(batches: number): number {
  return batches * 5;
}

function moduleSites(c: ModelConfig): { layer: number; module: Sublayer }[] {
  return Array.from({ length: c.nLayers }, (_, layer) => MODULES.map((module) => ({ layer, module }))).flat();
}

/**
 * A_r·P for A_r [B, T, n, n] ([s][t] mixes s into t) and P[u][t] = 1 iff t = u + 1 mod n: column t
 * of the product is column t − 1 of A_r, so H'_{t+1} takes what H'_t would have held.
 */
export function cyclicShift(m: Tensor): Tensor {
  const n = m.shape[3] as number;
  if (n === 1) return m;
  return tf.concat([tf.slice(m, [0, 0, 0, n - 1], [-1, -1, -1, 1]), tf.slice(m, [0, 0, 0, 0], [-1, -1, -1, n - 1])], 3);
}

/**
 * `identity`: A_r = I. `no_off_diagonal`: A_r's off-diagonal zeroed; for the doubly stochastic kinds
 * (mhc, mhc-lite) the rows are renormalised, which leaves exactly I again. `token_mean`: A_m, A_r and
 * B each replaced by their mean over the evaluation tokens (the dynamic part frozen). `permuted`:
 * A_r replaced by A_r·P, P the cyclic shift that carries stream s into slot s+1 mod n, so that
 * what the module would leave in slot t lands in slot t+1 while A_m and B stay: every module
 * then reads and writes streams that have changed place. Zero cost: stream identity does not matter.
 */
export function mixingInterventions(params: Params, c: ModelConfig, batches: readonly EvalBatch[], onPass: () => void = () => {}): MixingIntervention[] {
  const n = c.nStreams;
  const sites = moduleSites(c);
  const names = sites.flatMap(({ layer, module }) => COEFFS.map((kind) => hookName({ kind, layer, module })));
  const ce = (logits: Tensor, y: Tensor) => tf.tidy(() => crossEntropy(logits, y).dataSync()[0] as number);
  // Pass 1: clean CE per batch and the token sums of every coefficient.
  const clean: number[] = [];
  const sums = new Map<string, Float64Array>();
  let rows = 0;
  for (const b of batches) {
    const run = runWithCache(params, c, b.x, names);
    try {
      clean.push(ce(run.logits, b.y));
      for (const name of names) {
        const t = run.cache.get(name) as Tensor; // [B, T, n] or [B, T, n, n]
        const s = tf.tidy(() => tf.sum(t, [0, 1]).dataSync());
        const acc = sums.get(name) ?? new Float64Array(s.length);
        for (let i = 0; i < s.length; i++) acc[i] = (acc[i] as number) + (s[i] as number);
        sums.set(name, acc);
      }
      rows += (b.x.shape[0] as number) * (b.x.shape[1] as number);
    } finally {
      disposeCachedRun(run);
    }
    onPass();
  }
  const eye = tf.keep(tf.eye(n)); // [n, n]
  const means = new Map([...sums].map(([name, s]) => [name, tf.keep(tf.tensor(Float32Array.from(s, (v) => v / rows), s.length === n ? [n] : [n, n]))]));
  const doublyStochastic = c.connection.kind === 'mhc' || c.connection.kind === 'mhc-lite';
  const replaceMixing = (f: (m: Tensor) => Tensor) => new Map<string, HookFn>(sites.map(({ layer, module }) => [hookName({ kind: 'mixing', layer, module }), f]));
  const plans: [MixingInterventionName, Map<string, HookFn>][] = [
    ['identity', replaceMixing((m) => tf.add(tf.zerosLike(m), eye))],
    // Doubly stochastic kinds: diag(A_r) with its rows renormalised is I whenever A_r[i][i] > 0,
    // so I is written directly; dividing would give 0/0 = NaN where a diagonal entry underflows
    // to 0 in float32 (exp of a Sinkhorn logit below about −104, or a permutation weight that small).
    ['no_off_diagonal', replaceMixing((m) => (doublyStochastic ? tf.add(tf.zerosLike(m), eye) : tf.mul(m, eye)))],
    ['token_mean', new Map<string, HookFn>(names.map((name) => [name, (t: Tensor) => tf.add(tf.zerosLike(t), means.get(name) as Tensor)]))],
    ['permuted', replaceMixing((m) => cyclicShift(m))],
  ];
  try {
    return plans.map(([name, hooks]) => {
      const delta = batches.map((b, i) => {
        const v = tf.tidy(() => ce(forward(params, c, b.x, { hooks }), b.y));
        onPass();
        return v - (clean[i] as number);
      });
      const m = meanInterval(delta);
      // One batch has no interval: null, as JSON would write NaN, so that no reader takes 0 for a bound.
      return { name, delta_ce: m.mean, ci_low: Number.isFinite(m.lo) ? m.lo : null, ci_high: Number.isFinite(m.hi) ? m.hi : null, batches: delta.length };
    });
  } finally {
    eye.dispose();
    for (const t of means.values()) t.dispose();
  }
}
