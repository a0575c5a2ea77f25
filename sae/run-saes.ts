// Trains and evaluates the SAEs of one `hcprobe sae` run: for each layer, one SAE per stream
// (per-stream), one on [H_1 … H_n] (concat) or one on Σ_i H_i (summed); then metrics,
// planted-label matches, stream attribution, dashboards and the saved weights.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as A from 'apache-arrow';
import type { StreamSelector } from '../src/capture/read.ts';
import { type CaptureSite, isModelHash, type Manifest, siteHook } from '../src/capture/schema.ts';
import { rngFor } from '../src/engine/random.ts';
import { ConfigError, shown } from '../src/errors.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { configFromCheckpoint, paramsFromCheckpoint } from '../src/model/checkpoint.ts';
import type { Sublayer } from '../src/model/hooks.ts';
import type { Params } from '../src/model/params.ts';
import { readSafetensorsFile } from '../src/io/safetensors.ts';
import { type EvalSet, inputVectors, inputWidth, readEvalSet, type SaeInput, trainChunks } from './activations.ts';
import { SaeRunner } from './apply.ts';
import { concentration, streamShares, topStream } from './attribution.ts';
import { inputHookName, SPLICE_NOTE, saeReplace, spliceCe, zeroReplace } from './ce-splice.ts';
import { lrOf, type SaeKind, saeTrainConfig } from './config.ts';
import { chooseFeatures, type DashboardOptions, featureCards } from './dashboards.ts';
import { bestLatents, labelCorrelations } from './label-match.ts';
import { densityStats, ReconstructionStats } from './metrics.ts';
import { type CeMetrics, type ConcentrationSummary, type FeatureDashboards, type LabelMatch, SAE_SCHEMA_VERSION, type SaeMetricsFile, type SaeModeName, type SaeSummary } from './results-schema.ts';
import { writeJson, writeSae } from './save.ts';
import { bufferRows, ShuffleBuffer } from './shuffle-buffer.ts';
import { type TrainProgress, trainSae } from './train.ts';

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

export type CeModel = { params: Params; config: ModelConfig } | { note: string };

/**
 * The capture's model, for splicing. `checkpoint` (given by the user) must exist and hold the
 * captured model (a ConfigError otherwise); without it, the manifest's checkpoint is used, and
 * a note replaces the model when it cannot be.
 */
export function loadCeModel(m: Manifest, checkpoint?: string): CeModel {
  const path = checkpoint ?? m.checkpoint;
  if (!existsSync(path)) {
    if (checkpoint !== undefined) throw new ConfigError(`--checkpoint ${shown(checkpoint)} does not exist`);
    return { note: `checkpoint ${m.checkpoint} not found (run from the folder the capture was made in, or pass --checkpoint)` };
  }
  const file = readSafetensorsFile(path);
  const config = configFromCheckpoint(file, path);
  if (!isModelHash(config, m.model_hash)) {
    if (checkpoint !== undefined) throw new ConfigError(`--checkpoint ${shown(checkpoint)} holds another model than the capture's (${m.model.connection.kind}, ${m.n_streams} streams, ${m.model.nLayers} layers, d ${m.d_model}, from ${m.checkpoint})`);
    return { note: `checkpoint ${m.checkpoint} no longer matches the capture's model` };
  }
  return { params: paramsFromCheckpoint(file, config, path), config };
}

/** Token id → text from the capture's tokens.arrow (ids as text when it is missing). */
export function tokenTexts(acts: string): (id: number) => string {
  const path = join(acts, 'tokens.arrow');
  if (!existsSync(path)) return (id) => `<${id}>`;
  const table = A.tableFromIPC(readFileSync(path));
  const text = table.getChild('text')?.toArray() as string[] | undefined;
  return (id) => text?.[id] ?? `<${id}>`;
}

export async function runSaes(o: SaeRunOptions, ce: CeModel, onProgress: (p: SaeRunProgress) => void = () => {}): Promise<SaeSummary> {
  const m = o.manifest;
  const n = m.n_streams;
  const d = m.d_model;
  const inputs: SaeInput[] = o.mode === 'per-stream' ? Array.from({ length: n }, (_, stream) => ({ mode: 'per-stream', stream })) : [{ mode: o.mode } as SaeInput];
  const total = inputs.length * o.layers.length;
  const text = tokenTexts(o.acts);
  const saes: SaeSummary['saes'] = [];
  const planted: SaeSummary['planted'] = [];
  let index = 0;
  for (const layer of o.layers) {
    const sel: StreamSelector = { site: o.site, layer, module: o.module };
    const ev = await readEvalSet(o.acts, m, sel, o.evalTokens);
    const ceOrig = 'params' in ce && siteHook(o.site, layer, o.module) ? spliceCe(ce.params, ce.config, ev, o.site, o.module, layer, inputs[0] as SaeInput, null) : null;
    const matches: LabelMatch[] = [];
    for (const input of inputs) {
      const path = input.mode === 'per-stream' ? `layer=${layer}/stream=${input.stream}` : `layer=${layer}`;
      const r = await trainAndEvaluate(o, input, layer, path, ev, ce, ceOrig, text, (p) => onProgress({ ...p, sae: path, index, total }));
      index++;
      saes.push({ ...identity(o, input, layer, path), d_in: r.d_in, d_sae: r.d_sae, eval: r.eval, dead_fraction: r.training.dead_fraction, attribution: r.attribution });
      matches.push(...r.labels);
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
    k: o.act.kind === 'relu' ? null : o.act.k,
    expansion: o.expansion,
    tokens: o.tokens,
    seed: o.seed,
    command: o.command,
    saes,
    planted,
  };
  writeJson(join(o.out, 'summary.json'), summary);
  return summary;
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
  const d = m.d_model;
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
      const c = concentration(shares, n, Array.from(dens.density, (x) => x > 0));
      attribution = { live: c.live, concentrated: c.concentrated, threshold: c.threshold, by_stream: c.byStream, mean_shares: c.meanShares, dominant: c.dominant, dominance: c.dominance, n_eff: c.nEff };
    }
    let ceMetrics: CeMetrics | null = null;
    let ceNote: string | undefined;
    if (!('params' in ce)) ceNote = ce.note;
    else if (ceOrig === null) ceNote = `site ${o.site} has no residual hook to splice into`;
    else {
      const sae = spliceCe(ce.params, ce.config, ev, o.site, o.module, layer, input, saeReplace(runner));
      const zero = spliceCe(ce.params, ce.config, ev, o.site, o.module, layer, input, zeroReplace);
      ceMetrics = { orig: ceOrig, sae, zero, recovered: zero - ceOrig !== 0 ? (zero - sae) / (zero - ceOrig) : null, delta: sae - ceOrig, tokens: Math.floor(ev.rows / ev.seqLen) * (ev.seqLen - 1), splice: SPLICE_NOTE[input.mode] };
    }
    const ev1 = rec.ev();
    const metrics: SaeMetricsFile = {
      schema_version: SAE_SCHEMA_VERSION,
      ...identity(o, input, layer, path),
      kind: o.act.kind,
      k: o.act.kind === 'relu' ? null : o.act.k,
      l1: o.act.kind === 'relu' ? o.act.l1 : null,
      d_in: width,
      d_sae: p.dSae,
      training: {
        tokens: trained.tokens, steps: trained.steps, seconds: trained.seconds, tokens_per_s: trained.tokens / Math.max(trained.seconds, 1e-9),
        final_loss: trained.last.loss, final_fvu: trained.last.fvu, final_l0: trained.last.l0, dead_fraction: trained.deadFraction,
        input_scale: p.scale, lr: lrOf(cfg), threshold: p.threshold,
      },
      eval: {
        tokens: ev.rows, l0: dens.l0, ev: ev1, fvu: 1 - ev1, mse: rec.mse(), dead_fraction_eval: dens.deadFraction, dense_1pct: dens.dense1pct, dense_10pct: dens.dense10pct,
        ce: ceMetrics, ...(ceNote === undefined ? {} : { ce_note: ceNote }),
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
