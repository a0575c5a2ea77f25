// What a report reads of a training run: its config (as config.json holds it) and its
// metrics.jsonl records, typed from the trainer's own exported types; nothing here does I/O.
import type { ModelConfig } from '../src/model/config.ts';
import type { HcDiagnostics, LayerDiagnostics, ModuleDiagnostics } from '../src/train/hc-diagnostics.ts';
import type { LssScales } from '../src/train/lss-scales.ts';

export type { HcDiagnostics, LayerDiagnostics, ModuleDiagnostics };

/** One line of metrics.jsonl (src/train/loop.ts writes it). */
export interface MetricsRecord {
  step: number;
  loss: number;
  val_loss?: number;
  lr?: number;
  grad_norm?: number;
  tokens_per_s?: number;
  hc?: HcDiagnostics;
  /** LSS runs only: the stream scales at this step (absent in runs made before hcprobe logged them). */
  lss?: LssScales;
}

/** The part of runs/NAME/config.json that reports show. */
export interface RunConfigView {
  model: Pick<ModelConfig, 'nStreams' | 'nLayers' | 'dModel' | 'nHeads' | 'connection' | 'streamInit'>;
  corpus?: string;
  seed?: number;
  steps?: number;
  lr?: number;
  batchSize?: number;
  hcprobe_version?: string;
  /** The stream each module read at init (absent in runs made before hcprobe recorded it). */
  init_read_streams?: number[];
}

export interface RunData {
  /** Shown in headings and legends (the run folder's name, or the checkpoint file's). */
  name: string;
  config: RunConfigView;
  /** Empty for a checkpoint without its run directory. */
  metrics: MetricsRecord[];
  /** Set when the report is of a checkpoint file alone: there are no training metrics. */
  checkpoint?: string;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Keeps the records that have a step and a loss; the rest (a truncated line) is dropped. */
export function toMetricsRecords(raw: readonly Record<string, unknown>[]): MetricsRecord[] {
  return raw.filter((r) => isNum(r.step) && isNum(r.loss)).map((r) => r as unknown as MetricsRecord).sort((a, b) => a.step - b.step);
}

/** The last record that carries HC diagnostics. */
export function finalDiagnostics(metrics: readonly MetricsRecord[]): HcDiagnostics | undefined {
  for (let i = metrics.length - 1; i >= 0; i--) {
    const hc = metrics[i]?.hc;
    if (hc && hc.layers.length > 0) return hc;
  }
  return undefined;
}

export function finalValLoss(metrics: readonly MetricsRecord[]): number | undefined {
  for (let i = metrics.length - 1; i >= 0; i--) {
    const v = metrics[i]?.val_loss;
    if (isNum(v)) return v;
  }
  return undefined;
}

export function moduleLabel(m: Pick<ModuleDiagnostics, 'layer' | 'module'>): string {
  return `L${m.layer} ${m.module}`;
}

/** "mhc-lite · 4 streams · copy init". */
export function describeRun(c: RunConfigView): string {
  const m = c.model;
  return m.connection.kind === 'residual' ? 'residual · 1 stream' : `${m.connection.kind} · ${m.nStreams} streams · ${m.streamInit.kind} init`;
}

/** Summary numbers of a run at its end: validation loss, last-layer dominance and N_eff, their mean over layers. */
export interface RunSummary {
  name: string;
  description: string;
  steps: number;
  finalLoss: number | undefined;
  finalValLoss: number | undefined;
  lastLayerDominance: number | undefined;
  lastLayerDominant: number | undefined;
  lastLayerNEff: number | undefined;
  meanDominance: number | undefined;
  meanNEff: number | undefined;
  nStreams: number;
  /** The modules ("0.mlp", …) that read the last layer's dominant stream at init. */
  dominantReadBy: string[] | undefined;
}

/** Modules in forward order (attn 0, mlp 0, attn 1, …) that read `stream` at init. */
export function readersOf(readStreams: readonly number[], stream: number): string[] {
  return readStreams.flatMap((r, k) => (r === stream ? [`${Math.floor(k / 2)}.${k % 2 === 0 ? 'attn' : 'mlp'}`] : []));
}

export function summariseRun(run: RunData): RunSummary {
  const hc = finalDiagnostics(run.metrics);
  const last = hc?.layers[hc.layers.length - 1];
  const mean = (f: (l: LayerDiagnostics) => number) => (hc?.layers.length ? hc.layers.reduce((s, l) => s + f(l), 0) / hc.layers.length : undefined);
  const lastRec = run.metrics[run.metrics.length - 1];
  return {
    name: run.name,
    description: describeRun(run.config),
    steps: lastRec?.step ?? 0,
    finalLoss: lastRec?.loss,
    finalValLoss: finalValLoss(run.metrics),
    lastLayerDominance: last?.dominance,
    lastLayerDominant: last?.dominant,
    lastLayerNEff: last?.n_eff,
    meanDominance: mean((l) => l.dominance),
    meanNEff: mean((l) => l.n_eff),
    nStreams: run.config.model.nStreams,
    dominantReadBy: last && run.config.init_read_streams ? readersOf(run.config.init_read_streams, last.dominant) : undefined,
  };
}
