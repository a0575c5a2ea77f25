// Causal stream diagnostics (docs/metrics.md) on validation text: the loss change when stream i is
// zeroed or replaced by its mean after layer l (at blocks.l.hook_resid_post[i]), and the
// per-stream logit lens: CE of unembedding ln_f(H_i) alone, H taken after each layer; the
// mixing interventions of mixing-interventions.ts; ablate-and-rescue of ablate-rescue.ts; and the
// direct logit attribution of direct-logit-attribution.ts.
import { mm } from '../src/engine/matmul.ts';
import { tf, type Tensor } from '../src/engine/tf.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { type HookFn, hookName } from '../src/model/hooks.ts';
import { readoutTerms, reduceTerms, streamReadoutTerm } from '../src/model/connections/readout.ts';
import { param, type Params } from '../src/model/params.ts';
import { streamWidth } from '../src/model/stream-layout.ts';
import { disposeCachedRun, runWithCache } from '../src/model/run-with-cache.ts';
import { crossEntropy, forward } from '../src/model/transformer.ts';
import { ablateRescue, ablateRescuePasses } from './ablate-rescue.ts';
import { directLogitAttribution } from './direct-logit-attribution.ts';
import { interventionPasses, mixingInterventions } from './mixing-interventions.ts';
import type { AblateRescue, CausalDiagnostics } from './results-schema.ts';

export interface CausalInput {
  params: Params;
  config: ModelConfig;
  checkpoint: string;
  /** Windows of blockSize + 1 tokens: inputs are the first blockSize, targets the last. */
  windows: Int32Array[];
  batch: number;
  /** Windows (as `windows`) for ablate-and-rescue; absent or empty skips it, as does a single stream. */
  rescueWindows?: Int32Array[];
}

export function causalPasses(o: CausalInput): number {
  const batches = Math.ceil(o.windows.length / o.batch);
  const rescue = hasRescue(o) ? ablateRescuePasses(o.config, Math.ceil((o.rescueWindows?.length ?? 0) / o.batch)) : 0;
  return batches * (1 + 2 * o.config.nLayers * o.config.nStreams) + (hasMixing(o.config) ? interventionPasses(batches) : 0) + rescue + (hasDla(o.config) ? batches : 0); // the last: direct logit attribution
}

/** Mixing interventions replace the HC family's A_r; the other kinds have none (frac's A mixes fractions). */
const hasMixing = (c: ModelConfig) => c.connection.kind === 'hc' || c.connection.kind === 'mhc' || c.connection.kind === 'mhc-lite';
/** Direct logit attribution needs a readout linear in the streams after ln_f's frozen scale: residual and the HC family. */
const hasDla = (c: ModelConfig) => c.connection.kind === 'residual' || hasMixing(c);
const hasRescue = (o: CausalInput) => o.config.nStreams > 1 && (o.rescueWindows?.length ?? 0) > 0;

/** Windows of T + 1 tokens → batches of `batch` sequences: inputs x and next-token targets y. */
function toBatches(windows: Int32Array[], batch: number, T: number): { x: Tensor; y: Tensor; rows: number }[] {
  const batches: { x: Tensor; y: Tensor; rows: number }[] = [];
  for (let b0 = 0; b0 < windows.length; b0 += batch) {
    const w = windows.slice(b0, b0 + batch);
    const x = new Int32Array(w.length * T);
    const y = new Int32Array(w.length * T);
    w.forEach((win, i) => {
      x.set(win.subarray(0, T), i * T);
      y.set(win.subarray(1, T + 1), i * T);
    });
    batches.push({ x: tf.tensor2d(x, [w.length, T], 'int32'), y: tf.tensor2d(y, [w.length, T], 'int32'), rows: w.length * T });
  }
  return batches;
}

/** Sum over the batch of next-token CE, for logits [B, T, V]. */
function ceSum(logits: Tensor, targets: Tensor): number {
  const [B, T] = targets.shape as [number, number];
  return (crossEntropy(logits, targets).dataSync()[0] as number) * B * T;
}

export function causalDiagnostics(o: CausalInput, onProgress: (done: number, total: number) => void = () => {}): CausalDiagnostics {
  const c = o.config;
  const { nLayers: L, nStreams: n, dModel: d, blockSize: T } = c;
  const w = streamWidth(c); // one stream's width: d, or d/m for frac
  const total = causalPasses(o);
  let done = 0;
  const batches = toBatches(o.windows, o.batch, T);
  const tokens = batches.reduce((a, b) => a + b.rows, 0);
  const wte = param(o.params, 'transformer.wte.weight');
  const unembed = (h: Tensor) => {
    const [B] = h.shape as [number];
    return tf.reshape(mm(tf.reshape(h, [-1, d]), wte, false, true), [B, T, c.vocabSize]); // [B, T, V]
  };
  try {
    // Pass 1: the clean loss, stream means and the logit lens after every layer.
    let loss = 0;
    const lens = Array.from({ length: L }, () => new Float64Array(n));
    const lensSum = new Float64Array(L);
    const sums = Array.from({ length: L }, () => new Float64Array(n * w));
    const residPost = Array.from({ length: L }, (_, l) => hookName({ kind: 'resid_post', layer: l }));
    for (const b of batches) {
      const run = runWithCache(o.params, c, b.x, residPost);
      try {
        tf.tidy(() => {
          residPost.forEach((name, l) => {
            const H = run.cache.get(name) as Tensor; // [B, T, n, w]
            const s = tf.sum(H, [0, 1]).dataSync(); // [n, w]
            const acc = sums[l] as Float64Array;
            for (let k = 0; k < n * w; k++) acc[k] = (acc[k] as number) + (s[k] as number);
            for (let i = 0; i < n; i++) {
              const hi = streamReadoutTerm(o.params, c, H, i); // [B, T, d]: ln_f(H_i) for most kinds
              (lens[l] as Float64Array)[i] = ((lens[l] as Float64Array)[i] as number) + ceSum(unembed(hi), b.y);
            }
            lensSum[l] = (lensSum[l] as number) + ceSum(unembed(tf.reshape(reduceTerms(c, readoutTerms(o.params, c, H)), [-1, T, d])), b.y);
          });
          loss += ceSum(run.logits, b.y);
        });
      } finally {
        disposeCachedRun(run);
      }
      onProgress(++done, total);
    }
    const means = sums.map((s) => tf.tensor1d(Float32Array.from(s, (v) => v / tokens)));
    // Passes 2…: one per (layer, stream, mode).
    const ablation = (mode: 'zero' | 'mean') =>
      Array.from({ length: L }, (_, l) =>
        Array.from({ length: n }, (_, i) => {
          let ce = 0;
          for (const b of batches) {
            ce += tf.tidy(() => {
              const replace: HookFn = (h) =>
                mode === 'zero' ? tf.zerosLike(h) : tf.add(tf.zerosLike(h), tf.slice(means[l] as Tensor, [i * w], [w]));
              return ceSum(forward(o.params, c, b.x, { hooks: new Map([[hookName({ kind: 'resid_post', layer: l, stream: i }), replace]]) }), b.y);
            });
            onProgress(++done, total);
          }
          return ce / tokens - loss / tokens;
        }),
      );
    try {
      const ablationZero = ablation('zero');
      const ablationMean = ablation('mean');
      const interventions = hasMixing(c) ? mixingInterventions(o.params, c, batches, () => onProgress(++done, total)) : undefined;
      const dla = hasDla(c) ? directLogitAttribution(o.params, c, batches, () => onProgress(++done, total)) : undefined;
      let rescue: AblateRescue | undefined;
      if (hasRescue(o)) {
        const rescueBatches = toBatches(o.rescueWindows ?? [], o.batch, T);
        try {
          rescue = ablateRescue(o.params, c, rescueBatches, () => onProgress(++done, total));
        } finally {
          for (const b of rescueBatches) tf.dispose([b.x, b.y]);
        }
      }
      return {
        checkpoint: o.checkpoint,
        tokens,
        loss: loss / tokens,
        ablation_zero: ablationZero,
        ablation_mean: ablationMean,
        logit_lens: lens.map((row) => Array.from(row, (v) => v / tokens)),
        logit_lens_sum: Array.from(lensSum, (v) => v / tokens),
        ...(interventions ? { mixing_interventions: interventions } : {}),
        ...(rescue ? { ablate_rescue: rescue } : {}),
        ...(dla ? { direct_logit_attribution: dla } : {}),
      };
    } finally {
      for (const m of means) m.dispose();
    }
  } finally {
    for (const b of batches) {
      b.x.dispose();
      b.y.dispose();
    }
  }
}
