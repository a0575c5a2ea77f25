// Does the model use its residual mixing? Validation CE when every module's mixing A_r is replaced
// (identity; off-diagonal zeroed; every coefficient frozen at its token mean), against the
// unmodified model, with a paired 95% t-interval over evaluation batches. If the identity costs
// nothing, the mixing is not used: the "mixing stays near identity" claim, tested causally.
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
  return batches * 4;
}

function moduleSites(c: ModelConfig): { layer: number; module: Sublayer }[] {
  return Array.from({ length: c.nLayers }, (_, layer) => MODULES.map((module) => ({ layer, module }))).flat();
}

/**
 * `identity`: A_r = I. `no_off_diagonal`: A_r's off-diagonal zeroed; for the doubly stochastic kinds
 * (mhc, mhc-lite) the rows are renormalised, which leaves exactly I again. `token_mean`: A_m, A_r and
 * B each replaced by their mean over the evaluation tokens (the dynamic part frozen).
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
    ['no_off_diagonal', replaceMixing((m) => {
      const diag = tf.mul(m, eye); // [B, T, n, n]
      return doublyStochastic ? tf.div(diag, tf.sum(diag, -1, true)) : diag;
    })],
    ['token_mean', new Map<string, HookFn>(names.map((name) => [name, (t: Tensor) => tf.add(tf.zerosLike(t), means.get(name) as Tensor)]))],
  ];
  try {
    return plans.map(([name, hooks]) => {
      const delta = batches.map((b, i) => {
        const v = tf.tidy(() => ce(forward(params, c, b.x, { hooks }), b.y));
        onPass();
        return v - (clean[i] as number);
      });
      const m = meanInterval(delta);
      return { name, delta_ce: m.mean, ci_low: m.lo, ci_high: m.hi, batches: delta.length };
    });
  } finally {
    eye.dispose();
    for (const t of means.values()) t.dispose();
  }
}
