// CE loss recovered (docs/metrics.md): next-token loss on held-out sequences with the SAE's
// reconstruction spliced into the model at its hook, against the clean model and a
// zero-ablated activation: recovered = (CE_zero − CE_sae) / (CE_zero − CE_orig).
import { type CaptureSite, siteHook } from '../src/capture/schema.ts';
import { tf, type Tensor } from '../src/engine/tf.ts';
import type { ModelConfig } from '../src/model/config.ts';
import type { HookFn, Sublayer } from '../src/model/hooks.ts';
import type { Params } from '../src/model/params.ts';
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
  summed: 'H_i ← H_i + (x̂ − x)/n so that Σ_i H_i = x̂ (our choice); zero baseline: all streams zeroed',
};

type Replace = (act: Float32Array, rows: number) => Float32Array;

/** Mean next-token CE over the eval sequences with `replace` applied at the SAE's hook (none: clean). */
export function spliceCe(params: Params, config: ModelConfig, ev: EvalSet, site: CaptureSite, module: Sublayer, layer: number, input: SaeInput, replace: Replace | null, seqsPerBatch = 16): number {
  const T = ev.seqLen;
  const nSeq = Math.floor(ev.rows / T);
  const n = config.nStreams;
  const d = config.dModel;
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
  let count = 0;
  for (let s0 = 0; s0 < nSeq; s0 += seqsPerBatch) {
    const S = Math.min(seqsPerBatch, nSeq - s0);
    const ids = ev.token.subarray(s0 * T, (s0 + S) * T);
    const loss = tf.tidy(() => {
      const tokens = tf.tensor2d(ids, [S, T], 'int32');
      const logits = forward(params, config, tokens, { hooks }); // [S, T, V]
      const V = logits.shape[2] as number;
      const pred = tf.slice(logits, [0, 0, 0], [S, T - 1, V]);
      const targets = tf.slice(tokens, [0, 1], [S, T - 1]);
      return crossEntropy(pred, targets).dataSync()[0] as number;
    });
    total += loss * S * (T - 1);
    count += S * (T - 1);
  }
  return total / count;
}

/** Reconstruction and zero-ablation replacements for an SAE runner. */
export function saeReplace(runner: SaeRunner): Replace {
  return (act, rows) => runner.reconstruct(act, rows).xhat;
}

export const zeroReplace: Replace = (act) => new Float32Array(act.length);
