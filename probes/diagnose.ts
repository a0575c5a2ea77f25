// `hcprobe diagnose` as a library call: every docs/metrics.md metric of a capture, per site, layer and
// module, the unfolded connection matrix and the layer arrangement read off it, dominant-stream
// consistency across layers, and the causal analyses when the run is at hand. Reads activations, returns DiagnosticsResult.
import { type Manifest, STREAM_SITES } from '../src/capture/schema.ts';
import { sequentialWindows } from '../src/data/batches.ts';
import { ConfigError, shown } from '../src/errors.ts';
import type { Sublayer } from '../src/model/hooks.ts';
import { amaxGains } from '../src/stats/mixing-metrics.ts';
import { mixingProduct, unfoldedConnections } from '../src/stats/unfolded.ts';
import { DEFAULT_RESCUE_TOKENS } from './ablate-rescue.ts';
import { causalDiagnostics, causalPasses } from './causal.ts';
import { initReadBias } from './init-bias.ts';
import { preConstraintDiagnostics, preConstraintPasses } from './pre-constraint.ts';
import { layerArrangement } from './layer-arrangement.ts';
import { coefficientDiagnostics } from './coefficient-diagnostics.ts';
import { loadCoefficients, loadStreamSite } from './load-site.ts';
import type { RunHandle } from './load-run.ts';
import { type DiagnosticsResult, type DominanceConsistency, type ModuleCoefficientDiagnostics, SCHEMA_VERSION, type StreamSiteDiagnostics } from './results-schema.ts';
import { splitBySequence } from './sequence-split.ts';
import { defaultRidgeWorkers, startRidgePool } from './ridge-pool.ts';
import { streamDiagnostics } from './stream-diagnostics.ts';

export interface DiagnoseOptions {
  acts: string;
  manifest: Manifest;
  /** The run for the causal part; null skips it, with `skipReason` in the notes. */
  run: RunHandle | null;
  skipReason?: string;
  /** Validation tokens for the causal part. */
  evalTokens: number;
  /** A_r before and after its constraint on the same validation windows (probes/pre-constraint.ts), one forward per batch; default on, needs `run`. */
  preConstraint?: boolean;
  /** Validation tokens for ablate-and-rescue (probes/ablate-rescue.ts), from the split's start; 0 skips it. Default DEFAULT_RESCUE_TOKENS. */
  rescueTokens?: number;
  batch: number;
  seed: number;
  /** Rows per site read from the capture (whole sequences); all when absent. */
  maxTokens?: number;
  /** Worker threads for the ridge fits besides the main one (default: one per extra core); results do not depend on it. */
  workers?: number;
}

export type DiagnoseProgress = (done: number, total: number, what: string) => void;

const MODULES: Sublayer[] = ['attn', 'mlp'];

export async function diagnose(o: DiagnoseOptions, onProgress: DiagnoseProgress = () => {}): Promise<DiagnosticsResult> {
  const m = o.manifest;
  if (m.tokens === 0 || m.shards.length === 0) throw new ConfigError(`activations ${shown(o.acts)} are empty (no tokens captured)`);
  const layers = [...m.layers].sort((a, b) => a - b);
  const sites = STREAM_SITES.filter((s) => m.sites.includes(s));
  const withCoeffs = m.sites.includes('coeffs');
  const T = m.model.blockSize;
  const notes: string[] = [...(o.run?.notes ?? [])];
  const windows = o.run ? [...sequentialWindows(o.run.corpus.val, T + 1, o.evalTokens)].map((w) => w.tokens) : [];
  const rescueTokens = o.rescueTokens ?? DEFAULT_RESCUE_TOKENS;
  let rescueWindows: Int32Array[] = [];
  if (o.run && m.n_streams > 1) {
    if (rescueTokens > 0) rescueWindows = [...sequentialWindows(o.run.corpus.val, T + 1, rescueTokens)].map((w) => w.tokens);
    if (rescueWindows.length === 0) notes.push(rescueTokens > 0 ? `ablate-and-rescue skipped: ${rescueTokens} rescue tokens is less than one window of ${T + 1}` : 'ablate-and-rescue skipped (--no-rescue)');
  }
  const causalInput = o.run ? { ...o.run, windows, batch: o.batch, rescueWindows } : undefined;
  const causalTotal = causalInput ? causalPasses(causalInput) : 0;
  const preInput = o.run && o.preConstraint !== false ? { ...o.run, windows, batch: o.batch } : undefined;
  const preTotal = preInput ? preConstraintPasses(preInput) : 0;
  const total = sites.length * layers.length * 2 + (withCoeffs ? layers.length * 2 : 0) + causalTotal + preTotal;
  let done = 0;

  const streams: StreamSiteDiagnostics[] = [];
  let split: ReturnType<typeof splitBySequence> | undefined;
  // n = 1 has no stream pairs to fit.
  const pool = await startRidgePool(sites.length > 0 && m.n_streams > 1 ? (o.workers ?? defaultRidgeWorkers()) : 0);
  try {
    for (const site of sites) {
      for (const layer of layers) {
        for (const module of MODULES) {
          onProgress(done, total, `${site} layer ${layer} ${module}`);
          const data = await loadStreamSite(o.acts, m, site, layer, module, [], o.maxTokens);
          if (data.rows === 0) throw new ConfigError(`activations ${shown(o.acts)}: site ${site}, layer ${layer}, ${module} has no rows`);
          if (!split || split.part.length !== data.rows) split = splitBySequence(data.seq, { train: 0.64, val: 0.16 }, o.seed, 'ridge-split');
          streams.push({ site, layer, module, ...(await streamDiagnostics(data.streams, data.dModel, split, pool)) });
          done++;
        }
      }
    }
  } finally {
    await pool.close();
  }
  const coefficients: ModuleCoefficientDiagnostics[] = [];
  if (withCoeffs) {
    for (const layer of layers) {
      for (const module of MODULES) {
        onProgress(done, total, `coeffs layer ${layer} ${module}`);
        coefficients.push(coefficientDiagnostics(await loadCoefficients(o.acts, m, layer, module, o.maxTokens), layer, module));
        done++;
      }
    }
  } else notes.push('site coeffs was not captured: no read/write shares, mixing metrics or unfolded matrix');

  const everyLayer = layers.length === m.model.nLayers;
  let unfolded: DiagnosticsResult['unfolded'] = null;
  let product: DiagnosticsResult['mixing_product'] = null;
  if (withCoeffs && everyLayer) {
    const ordered = [...coefficients].sort((a, b) => a.index - b.index);
    const u = unfoldedConnections(ordered.map((k) => ({ read: k.read_mean, mixing: k.mixing_mean, write: k.write_mean })));
    unfolded = { modules: ordered.map((k) => `${k.layer}.${k.module}`), ...u };
    const p = mixingProduct(ordered.map((k) => k.mixing_mean));
    product = { modules: ordered.length, matrix: p, amax: amaxGains(p) };
  } else if (withCoeffs) notes.push(`only layers ${layers.join(',')} of ${m.model.nLayers} were captured: no unfolded matrix or mixing product`);

  let causal: DiagnosticsResult['causal'] = null;
  if (causalInput) {
    const base = done;
    causal = causalDiagnostics(causalInput, (d, t) => onProgress(base + d, base + t, 'causal'));
    done += causalTotal;
  } else notes.push(`causal part skipped: ${o.skipReason ?? 'no run'}`);
  let preConstraint: DiagnosticsResult['pre_constraint'] = null;
  if (preInput) {
    const base = done;
    preConstraint = preConstraintDiagnostics(preInput, (d, t) => onProgress(base + d, base + t, 'mixing before its constraint'));
    done += preTotal;
  }
  onProgress(total, total, 'done');

  return {
    schema_version: SCHEMA_VERSION,
    kind: 'diagnostics',
    created: new Date().toISOString(),
    acts: o.acts,
    run: o.run?.run ?? null,
    model: { connection: m.model.connection.kind, n_streams: m.n_streams, n_layers: m.model.nLayers, d_model: m.d_model, model_hash: m.model_hash },
    tokens: streams[0]?.tokens ?? coefficients[0]?.tokens ?? 0,
    streams,
    coefficients,
    mixing_product: product,
    unfolded,
    dominance: dominanceConsistency(streams, coefficients, layers),
    causal,
    pre_constraint: preConstraint,
    init_read_bias: m.init_read_streams && m.n_streams > 1 ? initReadBias(m.init_read_streams, m.n_streams, streams, coefficients) : null,
    ...(unfolded ? { layer_arrangement: layerArrangement(unfolded) } : {}),
    notes,
  };
}

/** For each stream site and module (signal) and each module (read, write): the argmax stream per layer. */
export function dominanceConsistency(streams: StreamSiteDiagnostics[], coefficients: ModuleCoefficientDiagnostics[], layers: number[]): DominanceConsistency[] {
  const out: DominanceConsistency[] = [];
  const entry = (what: DominanceConsistency['what'], site: DominanceConsistency['site'], module: Sublayer, dominant: number[]) =>
    out.push({ what, site, module, layers, dominant, same: dominant.every((s) => s === dominant[0]) });
  for (const site of STREAM_SITES) {
    for (const module of MODULES) {
      const rows = layers.map((l) => streams.find((s) => s.site === site && s.module === module && s.layer === l));
      if (rows.every((r) => r)) entry('signal', site, module, rows.map((r) => (r as StreamSiteDiagnostics).signal.dominant));
    }
  }
  for (const module of MODULES) {
    const rows = layers.map((l) => coefficients.find((k) => k.module === module && k.layer === l));
    if (!rows.every((r) => r)) continue;
    entry('read', 'coeffs', module, rows.map((r) => (r as ModuleCoefficientDiagnostics).read.dominant));
    entry('write', 'coeffs', module, rows.map((r) => (r as ModuleCoefficientDiagnostics).write.dominant));
  }
  return out;
}
