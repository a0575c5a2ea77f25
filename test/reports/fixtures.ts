// Results made by hand for the report tests: a training run's metrics, diagnostics and probe
// results with known numbers, typed by the schemas the producers export.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DiagnosticsResult, ProbeRecord, ProbesResult, StreamSiteDiagnostics } from '../../probes/results-schema.ts';
import type { MetricsRecord, ModuleDiagnostics, RunData } from '../../reports/run-data.ts';
import type { EvalMetrics, FeatureDashboards, SaeModeName, SaeSummary } from '../../sae/results-schema.ts';

export const XSS_SCRIPT = '<script>alert(1)</script>';
export const XSS_IMG = '"><img src=x onerror=alert(1)>';

const shares = (n: number, dominant: number, d: number) => Array.from({ length: n }, (_, i) => (i === dominant ? d : (1 - d) / (n - 1)));
const eye = (n: number, eps = 0) => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 - eps * (n - 1) : eps)));

function moduleDiag(layer: number, module: 'attn' | 'mlp', n: number, step: number): ModuleDiagnostics {
  const eps = 0.002 + 0.01 * Math.min(1, step / 100) * (layer + 1);
  const read = shares(n, (2 * layer + (module === 'mlp' ? 1 : 0)) % n, 0.6);
  const write = shares(n, 1, 0.5);
  return {
    layer, module, mixing: eye(n, eps), read, write,
    identity_distance: eps * Math.sqrt(n - 1) * Math.sqrt(n) / Math.sqrt(n),
    off_diagonal_mass: eps * (n - 1),
    read_shares: read, read_dominance: 0.6, read_n_eff: 2.5,
    write_shares: write, write_dominance: 0.5, write_n_eff: 3,
    amax_forward: 1, amax_backward: 1,
  };
}

/** A run of `steps` logged every 10 steps with validation every 50; stream 1 takes over from step 0 to 100. */
export function fakeRun(o: { name?: string; nStreams?: number; nLayers?: number; steps?: number; connection?: 'mhc-lite' | 'residual' } = {}): RunData {
  const n = o.connection === 'residual' ? 1 : (o.nStreams ?? 4);
  const L = o.nLayers ?? 3;
  const steps = o.steps ?? 200;
  const metrics: MetricsRecord[] = [];
  for (let step = 10; step <= steps; step += 10) {
    const dom = n === 1 ? 1 : 1 / n + (0.8 - 1 / n) * Math.min(1, step / 100);
    const layers = Array.from({ length: L }, (_, layer) => {
      const s = n === 1 ? [1] : shares(n, 1, dom);
      return { layer, signal_shares: s, dominance: Math.max(...s), dominant: n === 1 ? 0 : 1, n_eff: Math.exp(-s.reduce((a, x) => a + x * Math.log(x), 0)) };
    });
    const modules = n === 1 ? [] : Array.from({ length: L }, (_, layer) => [moduleDiag(layer, 'attn', n, step), moduleDiag(layer, 'mlp', n, step)]).flat();
    metrics.push({
      step, loss: 5 * Math.exp(-step / 80) + 2, lr: 1e-3, grad_norm: 1, tokens_per_s: 1000,
      ...(step % 50 === 0 ? { val_loss: 5 * Math.exp(-step / 80) + 2.05 } : {}),
      hc: { modules, layers, product: { amax_forward: 1, amax_backward: 1 } },
    });
  }
  return {
    name: o.name ?? 'fake',
    config: { model: { nStreams: n, nLayers: L, dModel: 32, nHeads: 2, connection: { kind: o.connection ?? 'mhc-lite' }, streamInit: { kind: 'copy' } }, corpus: 'synthetic', seed: 1, steps },
    metrics,
  };
}

const MODEL = { connection: 'mhc-lite', n_streams: 4, n_layers: 3, d_model: 32, model_hash: 'abc' };

export function fakeDiagnostics(n = 4, L = 3): DiagnosticsResult {
  const share = (d: number) => {
    const s = shares(n, 1, d);
    return { shares: s, dominance: d, dominant: 1, n_eff: Math.exp(-s.reduce((a, x) => a + x * Math.log(x), 0)), n_eff_simpson: 1 / s.reduce((a, x) => a + x * x, 0) };
  };
  const streams: StreamSiteDiagnostics[] = Array.from({ length: L }, (_, layer) => ({
    site: 'resid_post', layer, module: 'attn', tokens: 1000, energy: shares(n, 1, 0.7),
    signal: share(0.5 + 0.1 * layer), cosine: eye(n, 0.3), mean_pairwise_cosine: 0.3 + 0.1 * layer, cka: eye(n, 0.5), mean_pairwise_cka: 0.5,
    ridge_r2: eye(n, 0.4), ridge_alpha: eye(n, 1),
  }));
  const ablation = Array.from({ length: L }, (_, l) => Array.from({ length: n }, (_, i) => (i === 1 ? 0.5 + l : 0.01 * i - 0.005)));
  return {
    schema_version: 1, kind: 'diagnostics', created: '2026-01-01T00:00:00Z', acts: 'acts/fake', run: 'runs/fake', model: { ...MODEL, n_streams: n, n_layers: L }, tokens: 1000,
    streams, coefficients: [], mixing_product: null,
    unfolded: { modules: ['L0 attn', 'L0 mlp', 'L1 attn'], matrix: [[0, 0, 0], [1.1, 0, 0], [0.9, 1.2, 0]], embed: [1, 1.05, 0.95], output: [1, 1, 1] },
    dominance: [{ what: 'signal', site: 'resid_post', module: 'attn', layers: [0, 1, 2], dominant: [1, 1, 1], same: true }],
    causal: { checkpoint: 'c', tokens: 1000, loss: 2.5, ablation_zero: ablation, ablation_mean: ablation.map((r) => r.map((x) => x / 2)), logit_lens: ablation.map((r) => r.map((x) => 3 + x)), logit_lens_sum: ablation.map(() => 2.6) },
    notes: [],
  };
}

/** Probes where stream 1 decodes every label and the others sit near chance; `label` may be hostile text. */
export function fakeProbes(labels: string[] = ['topic', 'pos'], n = 4, L = 3): ProbesResult {
  const probes: ProbeRecord[] = [];
  for (const label of labels)
    for (let layer = 0; layer < L; layer++)
      for (const stream of [...Array.from({ length: n }, (_, i) => i), 'sum' as const]) {
        const accuracy = stream === 1 || stream === 'sum' ? 0.9 : 0.3;
        probes.push({ label, site: 'resid_post', layer, module: 'attn', stream, accuracy, control_accuracy: 0.25, selectivity: accuracy - 0.25, chance: 0.25, l2: 1e-3, control_l2: 1e-3, n_train: 800, n_test: 200 });
      }
  return {
    schema_version: 1, kind: 'probes', created: '2026-01-01T00:00:00Z', acts: 'acts/fake', model: MODEL,
    labels: labels.map((name) => ({ name, values: ['a', 'b'] })), split: { seed: 1, train: 800, val: 100, test: 200, sequences: { train: 8, val: 1, test: 2 } },
    l2_grid: [1e-3], max_tokens: null, probes, skipped: [],
  };
}

/** Writes `run` as runs/NAME/{config.json, metrics.jsonl} under `root`; returns the run folder. */
export function writeRunDir(root: string, run: RunData): string {
  const dir = join(root, 'runs', run.name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(run.config));
  writeFileSync(join(dir, 'metrics.jsonl'), run.metrics.map((m) => `${JSON.stringify(m)}\n`).join(''));
  return dir;
}

const EVAL: EvalMetrics = { tokens: 1000, l0: 16, ev: 0.9, fvu: 0.1, mse: 0.01, dead_fraction_eval: 0.05, dense_1pct: 0.1, dense_10pct: 0.01, ce: { orig: 2.5, sae: 2.6, zero: 4, recovered: 0.93, delta: 0.1, tokens: 1000, splice: 'direct' } };

/** SAEs of one mode on layers 0–1; concat features live mostly in stream 1. */
export function fakeSaeSummary(mode: SaeModeName, n = 4): SaeSummary {
  const layers = [0, 1];
  const saes = layers.flatMap((layer) => (mode === 'per-stream' ? Array.from({ length: n }, (_, i) => i) : [null]).map((stream) => ({
    mode, site: 'resid_post', module: 'attn' as const, layer, stream, hook_name: `blocks.${layer}.hook_resid_post`, path: `layer=${layer}${stream === null ? '' : `/stream=${stream}`}`,
    d_in: mode === 'concat' ? 32 * n : 32, d_sae: 256, eval: { ...EVAL, fvu: 0.1 + 0.05 * (stream ?? 0) }, dead_fraction: 0.05,
    attribution: mode === 'concat' ? { live: 200, concentrated: 150, threshold: 0.5, by_stream: [10, 120, 10, 10], mean_shares: [0.2, 0.5, 0.15, 0.15], dominant: 1, dominance: 0.5, n_eff: 3.2 } : null,
  })));
  return {
    schema_version: 1, acts: 'acts/fake', run: 'runs/fake', checkpoint: 'c', mode, site: 'resid_post', module: 'attn', layers, n_streams: n, d_model: 32, kind: 'topk', k: 16, expansion: 8, tokens: 10000, seed: 1, command: [],
    saes, planted: layers.map((layer) => ({ layer, matches: [{ label: 'topic', value: 'sea', latent: 3, corr: 0.8, stream: 1 }, { label: 'pos', value: 'NOUN', latent: 5, corr: -0.6, stream: mode === 'summed' ? null : 2 }], mean_abs_corr: 0.7 })),
  };
}

/** Dashboards whose contexts hold `tokens` (hostile text in the browser test). */
export function fakeDashboards(mode: SaeModeName, tokens: string[] = ['the', ' cat', ' sat'], n = 4): FeatureDashboards {
  return {
    schema_version: 1, mode, site: 'resid_post', module: 'attn', layer: 1, stream: mode === 'per-stream' ? 0 : null, hook_name: 'blocks.1.hook_resid_post', path: mode === 'per-stream' ? 'layer=1/stream=0' : 'layer=1',
    histogram_bins: 4, context: { before: 2, after: 1 }, selection: 'test',
    features: Array.from({ length: 10 }, (_, f) => ({
      latent: f, density: 0.01 * (f + 1), mean_activation: 1, max_activation: 2, histogram: [5, 3, 1, 1],
      ...(mode === 'concat' ? { stream_shares: Array.from({ length: n }, (_, i) => (i === f % n ? 0.4 + 0.05 * f : (0.6 - 0.05 * f) / (n - 1))), top_stream: f % n } : {}),
      contexts: [{ activation: 2, seq: 0, pos: 5, tokens: tokens.map((_, i) => i), text: tokens, mark: tokens.length - 1 }],
      labels: [{ label: 'topic', value: 'sea', corr: 0.5 }],
    })),
  };
}

/** Writes results/NAME/{diagnostics.json, probes.json, sae/<mode>/...} under `root`. */
export function writeResultsDir(root: string, name: string, o: { probes?: ProbesResult; tokens?: string[] } = {}): string {
  const dir = join(root, 'results', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'diagnostics.json'), JSON.stringify(fakeDiagnostics()));
  writeFileSync(join(dir, 'probes.json'), JSON.stringify(o.probes ?? fakeProbes()));
  for (const mode of ['concat', 'per-stream', 'summed'] as const) {
    const s = fakeSaeSummary(mode);
    mkdirSync(join(dir, 'sae', mode), { recursive: true });
    writeFileSync(join(dir, 'sae', mode, 'summary.json'), JSON.stringify(s));
    const d = fakeDashboards(mode, o.tokens);
    mkdirSync(join(dir, 'sae', mode, d.path), { recursive: true });
    writeFileSync(join(dir, 'sae', mode, d.path, 'dashboards.json'), JSON.stringify(d));
  }
  return dir;
}
