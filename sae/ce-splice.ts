// CE loss recovered (docs/metrics.md): next-token loss on held-out sequences with the SAE's
// reconstruction spliced into the model at its hook, against the clean model and a
// zero-ablated activation: recovered = (CE_zero − CE_sae) / (CE_zero − CE_orig); and in the
// same passes KL(clean ‖ spliced) of the next-token distributions, averaged over positions.
import { type CaptureSite, siteHook } from '../src/capture/schema.ts';
import { tf, type Tensor } from '../src/engine/tf.ts';
import type { ModelConfig } from '../src/model/config.ts';
import type { HookFn, Sublayer } from '../src/model/hooks.ts';
import type { Params } from '../src/model/params.ts';
import { streamWidth } from '../src/model/stream-layout.ts';
import { crossEntropy, forward } from '../src/model/transformer.ts';
import type { EvalSet, SaeInput } from './activations.ts';
import type { SaeRunner } from './apply.ts';

/** The hook name describing an SAE's input, for cfg.json (sites without one get a descriptive name). */
export function inputHookName(site: CaptureSite, module: Sublayer, layer: number, input: SaeInput): string {
  const stream = input.mode === 'per-stream' ? input.stream : undefined;
  const resid = siteHook(site, layer, module, stream);
  if (resid) return input.mode === 'summed' ? `${resid}.sum` : resid;
  return `blocks.${layer}.${module}.${site}${stream === undefined ? '' : `[${stream}]`}${input.mode === 'summed' ? '.sum' : ''}`;
}

export const SPLICE_NOTE: Record<SaeInput['mode'], string> = {
  'per-stream': 'stream i replaced by its reconstruction; zero baseline: stream i zeroed',
  concat: 'all streams replaced by the reconstruction of [H_1 … H_n]; zero baseline: all streams zeroed',
  summed: 'H_i ← H_i + (x̂ − x)/n so that Σ_i H_i = x̂ (our choice); zero baseline: the same with x̂ = 0 (Σ_i H_i zeroed: each stream loses the mean of the streams)',
};

type Replace = (act: Float32Array, rows: number) => Float32Array;

export interface SpliceResult {
  /** Mean next-token CE. */
  ce: number;
  /** Mean KL(clean ‖ spliced) in nats per position; null unless asked for (and for the clean model). */
  kl: number | null;
}

/**
 * Mean next-token CE over the eval sequences with `replace` applied at the SAE's hook (none: clean);
 * with `kl`, each batch also runs the clean model and KL(p_clean ‖ p_spliced) is averaged over
 * the same positions.
 */
export function spliceCe(params: Params, config: ModelConfig, ev: EvalSet, site: CaptureSite, module: Sublayer, layer: number, input: SaeInput, replace: Replace | null, opts: { kl?: boolean; seqsPerBatch?: number } = {}): SpliceResult {
  const seqsPerBatch = opts.seqsPerBatch ?? 16;
  const withKl = opts.kl === true && replace !== null;
  const T = ev.seqLen;
  const nSeq = Math.floor(ev.rows / T);
  const n = config.nStreams;
  const d = streamWidth(config); // one stream's width (frac: d/m)
  const hooks = new Map<string, HookFn>();
  if (replace) {
    const stream = input.mode === 'per-stream' ? input.stream : undefined;
    const name = siteHook(site, layer, module, stream);
    if (!name) throw new Error(`no residual hook for site ${site}`);
    hooks.set(name, (act: Tensor) => {
      const shape = act.shape;
      const rows = (shape[0] as number) * (shape[1] as number);
      const data = act.dataSync() as Float32Array;
      if (input.mode !== 'summed') return tf.tensor(replace(data, rows), shape);
      const x = new Float32Array(rows * d);
      for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) x[r * d + t] = (x[r * d + t] as number) + (data[(r * n + i) * d + t] as number);
      const xhat = replace(x, rows);
      const out = new Float32Array(data.length);
      for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) {
        const j = (r * n + i) * d + t;
        out[j] = (data[j] as number) + ((xhat[r * d + t] as number) - (x[r * d + t] as number)) / n;
      }
      return tf.tensor(out, shape);
    });
  }
  let total = 0;
  let klTotal = 0;
  let count = 0;
  for (let s0 = 0; s0 < nSeq; s0 += seqsPerBatch) {
    const S = Math.min(seqsPerBatch, nSeq - s0);
    const ids = ev.token.subarray(s0 * T, (s0 + S) * T);
    const [loss, kl] = tf.tidy(() => {
      const tokens = tf.tensor2d(ids, [S, T], 'int32');
      const logits = forward(params, config, tokens, { hooks }); // [S, T, V]
      const V = logits.shape[2] as number;
      const pred = tf.slice(logits, [0, 0, 0], [S, T - 1, V]);
      const targets = tf.slice(tokens, [0, 1], [S, T - 1]);
      const ce = crossEntropy(pred, targets).dataSync()[0] as number;
      if (!withKl) return [ce, 0];
      const clean = tf.slice(forward(params, config, tokens), [0, 0, 0], [S, T - 1, V]);
      const logP = tf.logSoftmax(tf.reshape(clean, [-1, V])); // [S·(T−1), V]
      const logQ = tf.logSoftmax(tf.reshape(pred, [-1, V]));
      const klMean = tf.mean(tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), -1)); // []
      return [ce, klMean.dataSync()[0] as number];
    });
    total += loss * S * (T - 1);
    klTotal += kl * S * (T - 1);
    count += S * (T - 1);
  }
  return { ce: total / count, kl: withKl ? klTotal / count : null };
}

/** Reconstruction and zero-ablation replacements for an SAE runner. */
export function saeReplace(runner: SaeRunner): Replace {
  return (act, rows) => runner.reconstruct(act, rows).xhat;
}

export const zeroReplace: Replace = (act) => new Float32Array(act.length);
