// Trains and evaluates the SAEs of one `hcprobe sae` run: for each layer, one SAE per stream
// (per-stream), one on [H_1 … H_n] (concat) or one on Σ_i H_i (summed); then metrics,
// planted-label matches, stream attribution, dashboards and the saved weights; with several
// seeds (concat), one SAE per seed and the attribution's stability across them.
import { join } from 'node:path';
import type { StreamSelector } from '../src/capture/read.ts';
import { type CaptureSite, type Manifest, siteHook } from '../src/capture/schema.ts';
import { rngFor } from '../src/engine/random.ts';
import type { Sublayer } from '../src/model/hooks.ts';
import { type EvalSet, inputVectors, inputWidth, readEvalSet, type SaeInput, trainChunks } from './activations.ts';
import { SaeRunner } from './apply.ts';
import { concentration, streamShares, topStream } from './attribution.ts';
import { type CeModel, tokenTexts } from './ce-model.ts';
import { inputHookName, SPLICE_NOTE, saeReplace, spliceCe, zeroReplace } from './ce-splice.ts';
import { kOf, lrOf, type SaeKind, saeTrainConfig } from './config.ts';
import { decoderSimilarity } from './decoder-similarity.ts';
import { prefixReconstruction } from './matryoshka.ts';
import { seedStability, topStreamSummary } from './seed-stability.ts';
import { chooseFeatures, type DashboardOptions, featureCards } from './dashboards.ts';
import { bestLatents, labelCorrelations } from './label-match.ts';
import { densityStats, ReconstructionStats } from './metrics.ts';
import { type CeMetrics, type ConcentrationSummary, type FeatureDashboards, type LabelMatch, SAE_SCHEMA_VERSION, type SaeMetricsFile, type SaeModeName, type SaeSummary, type SeedAttribution, type SeedStability } from './results-schema.ts';
import { writeJson, writeSae } from './save.ts';
import { bufferRows, ShuffleBuffer } from './shuffle-buffer.ts';
import { type TrainProgress, trainSae } from './train.ts';

export { type CeModel, loadCeModel } from './ce-model.ts';

export interface SaeRunOptions {
  acts: string;
  manifest: Manifest;
  site: CaptureSite;
  module: Sublayer;
  layers: number[];
  mode: SaeModeName;
  act: SaeKind;
  expansion: number;
  tokens: number;
  batch: number;
  lr?: number;
  seed: number;
  /** concat: more seeds after `seed`, one SAE each under seeds/seed=S/, for seed_stability. */
  extraSeeds?: number[];
  evalTokens: number;
  dashboards: DashboardOptions;
  /** <out>/<mode>: this run's folder. */
  out: string;
  command: string[];
}

export interface SaeRunProgress extends TrainProgress {
  sae: string;
  index: number;
  total: number;
}

export async function runSaes(o: SaeRunOptions, ce: CeModel, onProgress: (p: SaeRunProgress) => void = () => {}): Promise<SaeSummary> {
  const m = o.manifest;
  const n = m.n_streams;
  const d = m.stream_width ?? m.d_model; // one stream's width (frac: d/m)
  const inputs: SaeInput[] = o.mode === 'per-stream' ? Array.from({ length: n }, (_, stream) => ({ mode: 'per-stream', stream })) : [{ mode: o.mode } as SaeInput];
  const extra = o.mode === 'concat' ? (o.extraSeeds ?? []) : [];
  const total = inputs.length * o.layers.length * (1 + extra.length);
  const text = tokenTexts(o.acts);
  const saes: SaeSummary['saes'] = [];
  const planted: SaeSummary['planted'] = [];
  const stability: SeedStability[] = [];
  let index = 0;
  for (const layer of o.layers) {
    const sel: StreamSelector = { site: o.site, layer, module: o.module };
    const ev = await readEvalSet(o.acts, m, sel, o.evalTokens);
    const ceOrig = 'params' in ce && siteHook(o.site, layer, o.module) ? spliceCe(ce.params, ce.config, ev, o.site, o.module, layer, inputs[0] as SaeInput, null).ce : null;
    const matches: LabelMatch[] = [];
    for (const input of inputs) {
      const path = input.mode === 'per-stream' ? `layer=${layer}/stream=${input.stream}` : `layer=${layer}`;
      const r = await trainAndEvaluate(o, input, layer, path, ev, ce, ceOrig, text, (p) => onProgress({ ...p, sae: path, index, total }));
      index++;
      saes.push({ ...identity(o, input, layer, path), d_in: r.d_in, d_sae: r.d_sae, eval: r.eval, dead_fraction: r.training.dead_fraction, attribution: r.attribution });
      matches.push(...r.labels);
      if (extra.length === 0) continue;
      const perSeed = [seedAttribution(o.seed, r)];
      for (const seed of extra) {
        const sp = `seeds/seed=${seed}/layer=${layer}`;
        const rs = await trainAndEvaluate({ ...o, seed }, input, layer, sp, ev, ce, ceOrig, text, (p) => onProgress({ ...p, sae: sp, index, total }));
        index++;
        perSeed.push(seedAttribution(seed, rs));
      }
      stability.push(seedStability(layer, perSeed));
    }
    const best = mergeMatches(matches);
    planted.push({ layer, matches: best, mean_abs_corr: best.length > 0 ? best.reduce((a, b) => a + Math.abs(b.corr), 0) / best.length : 0 });
  }
  const summary: SaeSummary = {
    schema_version: SAE_SCHEMA_VERSION,
    acts: o.acts,
    run: m.run,
    checkpoint: m.checkpoint,
    mode: o.mode,
    site: o.site,
    module: o.module,
    layers: o.layers,
    n_streams: n,
    d_model: d,
    kind: o.act.kind,
    k: kOf(o.act),
    expansion: o.expansion,
    tokens: o.tokens,
    seed: o.seed,
    command: o.command,
    saes,
    planted,
    ...(stability.length > 0 ? { seed_stability: stability } : {}),
  };
  writeJson(join(o.out, 'summary.json'), summary);
  return summary;
}

function seedAttribution(seed: number, r: SaeMetricsFile): SeedAttribution {
  const a = r.attribution as ConcentrationSummary;
  return { seed, path: r.path, live: a.live, top_stream: a.top_stream ?? [], by_stream: a.by_stream, mean_top_share: a.mean_top_share ?? Number.NaN, majority: a.majority ?? a.dominant, ev: r.eval.ev };
}

function identity(o: SaeRunOptions, input: SaeInput, layer: number, path: string) {
  return { mode: o.mode, site: o.site, module: o.module, layer, stream: input.mode === 'per-stream' ? input.stream : null, hook_name: inputHookName(o.site, o.module, layer, input), path };
}

/** For each label value, the best |corr| over all SAEs of a layer. */
function mergeMatches(all: LabelMatch[]): LabelMatch[] {
  const best = new Map<string, LabelMatch>();
  for (const x of all) {
    const key = `${x.label}\u0000${x.value}`;
    const b = best.get(key);
    if (!b || Math.abs(x.corr) > Math.abs(b.corr)) best.set(key, x);
  }
  return [...best.values()];
}

async function trainAndEvaluate(
  o: SaeRunOptions, input: SaeInput, layer: number, path: string, ev: EvalSet, ce: CeModel, ceOrig: number | null,
  text: (id: number) => string, onStep: (p: TrainProgress) => void,
): Promise<SaeMetricsFile> {
  const m = o.manifest;
  const n = m.n_streams;
  const d = m.stream_width ?? m.d_model; // one stream's width (frac: d/m)
  const width = inputWidth(input, n, d);
  const sel: StreamSelector = { site: o.site, layer, module: o.module };
  const cfg = saeTrainConfig({ act: o.act, dIn: width, dSae: width * o.expansion, tokens: o.tokens, batch: o.batch, seed: o.seed, ...(o.lr === undefined ? {} : { lr: o.lr }) });
  const stream = input.mode === 'per-stream' ? input.stream : -1;
  const source = new ShuffleBuffer(() => trainChunks(o.acts, m, sel, input), width, o.batch, bufferRows(width), rngFor(o.seed, `sae:shuffle:${layer}:${stream}`));
  const trained = await trainSae(cfg, source, onStep);
  const p = trained.params;
  const runner = new SaeRunner(p);
  try {
    const x = inputVectors(ev.streams, ev.rows, d, input);
    const { codes, xhat } = runner.reconstruct(x, ev.rows);
    const rec = new ReconstructionStats(width);
    rec.add(x, xhat, ev.rows);
    const dens = densityStats(codes, p.dSae);
    const corr = m.labels.length > 0 ? labelCorrelations(codes, p.dSae, m.labels, ev.labels) : null;
    const shares = input.mode === 'concat' ? streamShares(p.wDec, p.dSae, n, d) : null;
    const labels: LabelMatch[] = (corr ? bestLatents(corr) : []).map((b) => {
      const base = { ...b, stream: input.mode === 'per-stream' ? input.stream : null };
      if (input.mode === 'per-stream') return { ...base, sae: path };
      if (!shares) return base;
      const top = topStream(shares, n, b.latent);
      return { ...base, stream: top, share: shares[b.latent * n + top] as number };
    });
    let attribution: ConcentrationSummary | null = null;
    if (shares) {
      const live = Array.from(dens.density, (x) => x > 0);
      const c = concentration(shares, n, live);
      const t = topStreamSummary(shares, n, live);
      attribution = { live: c.live, concentrated: c.concentrated, threshold: c.threshold, by_stream: c.byStream, mean_shares: c.meanShares, dominant: c.dominant, dominance: c.dominance, n_eff: c.nEff, top_stream: t.topStream, mean_top_share: t.meanTopShare, majority: t.majority };
    }
    let ceMetrics: CeMetrics | null = null;
    let ceNote: string | undefined;
    if (!('params' in ce)) ceNote = ce.note;
    else if (ceOrig === null) ceNote = `site ${o.site} has no residual hook to splice into`;
    else {
      const spliced = spliceCe(ce.params, ce.config, ev, o.site, o.module, layer, input, saeReplace(runner), { kl: true });
      const sae = spliced.ce;
      const zero = spliceCe(ce.params, ce.config, ev, o.site, o.module, layer, input, zeroReplace).ce;
      ceMetrics = { orig: ceOrig, sae, zero, recovered: zero - ceOrig !== 0 ? (zero - sae) / (zero - ceOrig) : null, delta: sae - ceOrig, tokens: Math.floor(ev.rows / ev.seqLen) * (ev.seqLen - 1), splice: SPLICE_NOTE[input.mode], ...(spliced.kl === null ? {} : { kl: spliced.kl }) };
    }
    const ev1 = rec.ev();
    const a = o.act;
    const prefixEv = a.kind === 'matryoshka' ? a.prefixes.map((size) => {
      const stats = new ReconstructionStats(width);
      stats.add(x, prefixReconstruction(p, codes, size), ev.rows);
      return { size, ev: stats.ev() };
    }) : null;
    const metrics: SaeMetricsFile = {
      schema_version: SAE_SCHEMA_VERSION,
      ...identity(o, input, layer, path),
      kind: a.kind,
      k: kOf(a),
      l1: a.kind === 'relu' ? a.l1 : null,
      ...(a.kind === 'relu' ? { decoder_penalty: a.streamBlocks === undefined ? 'row-norm' : 'stream-norms' } : {}),
      ...(a.kind === 'jumprelu' ? { l0_coef: a.l0, bandwidth: a.bandwidth } : {}),
      ...(a.kind === 'matryoshka' ? { prefixes: a.prefixes } : {}),
      d_in: width,
      d_sae: p.dSae,
      training: {
        tokens: trained.tokens, steps: trained.steps, seconds: trained.seconds, tokens_per_s: trained.tokens / Math.max(trained.seconds, 1e-9),
        final_loss: trained.last.loss, final_fvu: trained.last.fvu, final_l0: trained.last.l0, dead_fraction: trained.deadFraction,
        input_scale: p.scale, lr: lrOf(cfg), threshold: p.thresholds ? p.thresholds.reduce((s, t) => s + t, 0) / p.dSae : p.threshold,
      },
      eval: {
        tokens: ev.rows, l0: dens.l0, ev: ev1, fvu: 1 - ev1, mse: rec.mse(), dead_fraction_eval: dens.deadFraction, dense_1pct: dens.dense1pct, dense_10pct: dens.dense10pct,
        ce: ceMetrics, ...(ceNote === undefined ? {} : { ce_note: ceNote }),
        shrinkage: rec.shrinkage(), decoder: decoderSimilarity(p.wDec, p.dSae, width), ...(prefixEv ? { prefix_ev: prefixEv } : {}),
      },
      attribution,
      labels,
    };
    const features = chooseFeatures(dens.density, labels.map((l) => l.latent), o.dashboards.features);
    const dash: FeatureDashboards = {
      schema_version: SAE_SCHEMA_VERSION,
      ...identity(o, input, layer, path),
      histogram_bins: o.dashboards.bins,
      context: { before: o.dashboards.before, after: o.dashboards.after },
      selection: `planted-label best latents first, then the densest live latents, at most ${o.dashboards.features}`,
      features: featureCards(codes, dens.density, features, ev, text, corr, o.dashboards, shares ? (f) => ({ shares: Array.from(shares.subarray(f * n, (f + 1) * n)), top: topStream(shares, n, f) }) : undefined),
    };
    const dir = join(o.out, path);
    writeSae(dir, p, {
      hookName: metrics.hook_name, layer, seqLen: m.seq_len, modelName: m.run ?? m.checkpoint, datasetPath: o.acts,
      extra: { mode: o.mode, site: o.site, module: o.module, stream: metrics.stream, n_streams: n, d_model: d, stream_blocks: input.mode === 'concat' ? Array.from({ length: n }, (_, i) => [i * d, (i + 1) * d]) : null },
    });
    writeJson(join(dir, 'metrics.json'), metrics);
    writeJson(join(dir, 'dashboards.json'), dash, true);
    return metrics;
  } finally {
    runner.dispose();
  }
}
