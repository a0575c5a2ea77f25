// `hcprobe probe` as a library call (docs/metrics.md): logistic-regression probes for every label ×
// site × layer × module × stream and the summed streams, each beside its Hewitt–Liang control
// task, split by sequence. Sites that hold the same tensor are probed once (resid_pre of the
// MLP is resid_post of attention; resid_pre of layer l is resid_post of layer l − 1).
import { type Manifest, sameTensorAs, STREAM_SITES } from '../src/capture/schema.ts';
import { ConfigError, shown } from '../src/errors.ts';
import type { Sublayer } from '../src/model/hooks.ts';
import { controlLabels } from './control-task.ts';
import { loadStreamSite, type StreamSiteData } from './load-site.ts';
import { tf } from '../src/engine/tf.ts';
import { defaultProbeWorkers, type ProbeJob, ProbePool } from './probe-pool.ts';
import type { ProbeOutcome, ProbeTarget } from './probe-features.ts';
import { type ProbeRecord, type ProbesResult, SCHEMA_VERSION, type StreamSite } from './results-schema.ts';
import { type SequenceSplit, splitBySequence } from './sequence-split.ts';
import { wholeState } from './whole-state.ts';

export interface ProbeOptions {
  acts: string;
  manifest: Manifest;
  labels: string[];
  sites: StreamSite[];
  layers: number[];
  modules: Sublayer[];
  maxTokens?: number;
  seed: number;
  l2Grid: number[];
  /** Worker threads besides the main one (default: one per extra core on wasm and cpu); results do not depend on it. */
  workers?: number;
}

export const PROBE_DEFAULTS = {
  l2Grid: [1e-1, 1e-2, 1e-3, 1e-4, 1e-5], // λ of mean CE + λ/2‖W‖² on z-scored features: strong to nearly none
  split: { train: 0.6, val: 0.2 }, // the rest (20%) is test; by sequence
  maxTokens: 20000, // ~12k training tokens: accuracies settle well before, and a site takes seconds
};

export type ProbeProgress = (done: number, total: number, what: string) => void;

/** Checks the request against the manifest; every mistake is a ConfigError naming what exists. */
export function checkProbeRequest(o: ProbeOptions): void {
  const m = o.manifest;
  if (m.tokens === 0 || m.shards.length === 0) throw new ConfigError(`activations ${shown(o.acts)} are empty (no tokens captured)`);
  const available = m.labels.map((l) => l.name);
  if (available.length === 0) throw new ConfigError(`activations ${shown(o.acts)} carry no labels (corpus ${shown(String(m.corpus.kind ?? '?'))}): nothing to probe`);
  for (const l of o.labels) if (!available.includes(l)) throw new ConfigError(`label ${shown(l)} is not in ${o.acts} (available: ${available.join(', ')})`);
  for (const s of o.sites) if (!m.sites.includes(s)) throw new ConfigError(`site ${shown(s)} was not captured in ${o.acts} (captured: ${m.sites.filter((x) => x !== 'coeffs').join(', ')})`);
  for (const l of o.layers) if (!m.layers.includes(l)) throw new ConfigError(`layer ${l} was not captured in ${o.acts} (captured: ${m.layers.join(', ')})`);
  if (o.labels.length === 0 || o.sites.length === 0 || o.layers.length === 0) throw new ConfigError('nothing to probe: no labels, sites or layers selected');
}

export async function runProbes(o: ProbeOptions, onProgress: ProbeProgress = () => {}): Promise<ProbesResult> {
  checkProbeRequest(o);
  const m = o.manifest;
  const n = m.n_streams;
  const streams: (number | 'sum')[] = [...Array(n).keys(), ...(n > 1 ? (['sum'] as const) : [])];
  const order = (s: StreamSite) => (s === 'resid_post' ? 0 : 1 + STREAM_SITES.indexOf(s));
  const work = [...o.sites].sort((a, b) => order(a) - order(b)).flatMap((site) => [...o.layers].sort((a, b) => a - b).flatMap((layer) => o.modules.map((module) => ({ site, layer, module }))));
  const total = work.length * streams.length;
  let done = 0;
  const records: ProbeRecord[] = [];
  const skipped: ProbesResult['skipped'] = [];
  let first: { data: StreamSiteData; split: SequenceSplit; controls: Map<string, Int32Array> } | undefined;
  const labelSpecs = o.labels.map((name) => m.labels.find((l) => l.name === name) as { name: string; values: string[] });
  const backend = tf.getBackend();
  const workers = backend === 'wasm' || backend === 'cpu' ? (o.workers ?? defaultProbeWorkers(backend)) : 0;
  const pool = await ProbePool.start(workers, backend as 'wasm' | 'cpu');
  try {
    for (const w of work) {
      const alias = sameTensorAs(w);
      const from = alias && records.filter((r) => r.site === alias.site && r.layer === alias.layer && r.module === alias.module);
      if (from && from.length > 0) {
        records.push(...from.map((r) => ({ ...r, site: w.site, layer: w.layer, module: w.module })));
        done += streams.length;
        onProgress(done, total, `${w.site} layer ${w.layer} ${w.module} (same tensor as ${alias.site} layer ${alias.layer} ${alias.module})`);
        continue;
      }
      onProgress(done, total, `${w.site} layer ${w.layer} ${w.module}: loading`);
      const data = await loadStreamSite(o.acts, m, w.site, w.layer, w.module, o.labels, o.maxTokens);
      if (data.rows === 0) throw new ConfigError(`activations ${shown(o.acts)}: site ${w.site}, layer ${w.layer}, ${w.module} has no rows`);
      if (!first || first.data.rows !== data.rows) {
        const controls = new Map(labelSpecs.map((l) => [l.name, controlLabels(data.token, data.labels.get(l.name) as Int32Array, l.values.length, o.seed, l.name)]));
        first = { data, split: splitBySequence(data.seq, PROBE_DEFAULTS.split, o.seed), controls };
      }
      const { split, controls } = first;
      const targets: ProbeTarget[] = labelSpecs.flatMap((l) => [
        { name: l.name, nClasses: l.values.length, y: data.labels.get(l.name) as Int32Array },
        { name: `control:${l.name}`, nClasses: l.values.length, y: controls.get(l.name) as Int32Array },
      ]);
      const keep = Uint8Array.from({ length: data.rows }, (_, r) => (targets.some((t) => (t.y[r] as number) >= 0) ? 1 : 0));
      // 'sum': Σ_i H_i, or for frac the concatenated fractions (whole-state.ts).
      const whole = () => wholeState(m.model.connection.kind, data.streams, data.dModel);
      const jobs: ProbeJob[] = streams.map((stream) => ({ ...(stream === 'sum' ? whole() : { x: data.streams[stream] as Float32Array, dim: data.dModel }), split, keep, targets, l2Grid: o.l2Grid }));
      onProgress(done, total, `${w.site} layer ${w.layer} ${w.module}: ${streams.length} stream probes on ${pool.size + 1} threads`);
      const base = done;
      let finished = 0;
      const results = await pool.runAll(jobs, () => onProgress(base + ++finished, total, `${w.site} layer ${w.layer} ${w.module}`));
      for (const [si, stream] of streams.entries()) {
        const outcomes = results[si] as ProbeOutcome[];
        labelSpecs.forEach((l, i) => {
          const task = outcomes[2 * i];
          const control = outcomes[2 * i + 1];
          if (!task?.ok || !control?.ok) {
            const reason = !task?.ok ? (task?.reason ?? '?') : `control task: ${control && !control.ok ? control.reason : '?'}`;
            if (stream === 0) skipped.push({ label: l.name, site: w.site, layer: w.layer, module: w.module, reason });
            return;
          }
          records.push({
            label: l.name, site: w.site, layer: w.layer, module: w.module, stream,
            accuracy: task.accuracy, control_accuracy: control.accuracy, selectivity: task.accuracy - control.accuracy,
            chance: task.chance, l2: task.l2, control_l2: control.l2, n_train: task.nTrain, n_test: task.nTest,
          });
        });
        done++;
      }
    }
  } finally {
    await pool.close();
  }
  onProgress(total, total, 'done');
  const s = first?.split;
  return {
    schema_version: SCHEMA_VERSION,
    kind: 'probes',
    created: new Date().toISOString(),
    acts: o.acts,
    model: { connection: m.model.connection.kind, n_streams: n, n_layers: m.model.nLayers, d_model: m.d_model, model_hash: m.model_hash },
    labels: labelSpecs,
    split: { seed: o.seed, train: s?.rows.train ?? 0, val: s?.rows.val ?? 0, test: s?.rows.test ?? 0, sequences: s?.sequences ?? { train: 0, val: 0, test: 0 } },
    l2_grid: o.l2Grid,
    max_tokens: o.maxTokens ?? null,
    probes: records,
    skipped,
  };
}

export function sumStreams(streams: Float32Array[]): Float32Array {
  const out = new Float32Array((streams[0] as Float32Array).length);
  for (const s of streams) for (let k = 0; k < out.length; k++) out[k] = (out[k] as number) + (s[k] as number);
  return out;
}
