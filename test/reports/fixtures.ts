// Results made by hand for the report tests: a training run's metrics, diagnostics and probe
// results with known numbers, typed by the schemas the producers export.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DiagnosticsResult, ProbeRecord, ProbesResult, StreamSiteDiagnostics } from '../../probes/results-schema.ts';
import type { MetricsRecord, ModuleDiagnostics, RunData } from '../../reports/run-data.ts';

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

/** Writes results/NAME/{diagnostics.json, probes.json} under `root`. */
export function writeResultsDir(root: string, name: string, probes: ProbesResult = fakeProbes()): string {
  const dir = join(root, 'results', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'diagnostics.json'), JSON.stringify(fakeDiagnostics()));
  writeFileSync(join(dir, 'probes.json'), JSON.stringify(probes));
  return dir;
}
