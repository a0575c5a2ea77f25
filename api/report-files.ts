// Reading a run's (or a checkpoint's) results from disk and writing a report: the file side of
// `hcprobe report`, `compare`, `sweep` and `demo`, and of the library's renderReport. The pages
// themselves are drawn by the pure functions in reports/.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { DiagnosticsResult, ProbesResult } from '../probes/results-schema.ts';
import { SCHEMA_VERSION as PROBES_SCHEMA_VERSION } from '../probes/results-schema.ts';
import { diagnosticsSection } from '../reports/diagnostics-figures.ts';
import type { Section } from '../reports/html-page.ts';
import { probesSection } from '../reports/probe-figures.ts';
import { type RunConfigView, type RunData, toMetricsRecords } from '../reports/run-data.ts';
import { type RenderedReport, renderRunReport } from '../reports/run-report.ts';
import { saeSection } from '../reports/sae-figures.ts';
import { buildTimeline, type CheckpointResults } from '../reports/timeline.ts';
import { overTrainingSection } from '../reports/timeline-figures.ts';
import { type FeatureDashboards, SAE_SCHEMA_VERSION, type SaeModeName, type SaeSummary } from '../sae/results-schema.ts';
import { ConfigError, shown } from '../src/errors.ts';
import { assertWritable, writeFileAtomic } from '../src/io/atomic-write.ts';
import { readSafetensorsFile } from '../src/io/safetensors.ts';
import { configFromCheckpoint } from '../src/model/checkpoint.ts';
import { readMetricsLog, readRunConfig, runPaths } from '../src/train/run-dir.ts';


/** Reads runs/NAME/{config.json, metrics.jsonl}; exit 2 when it is not a run directory. */
export function loadRun(dir: string): RunData & { warnings: string[] } {
  const config: RunConfigView = readRunConfig(dir);
  const log = readMetricsLog(runPaths(dir).metrics);
  return { name: basename(resolve(dir)), config, metrics: toMetricsRecords(log.records), warnings: log.warnings };
}

/**
 * A checkpoint without its run directory (e.g. converted from the reference code): the model
 * from its tensors and metadata, the name from the file, no metrics. hcprobe's own checkpoints
 * carry their training config, which adds the corpus and seed.
 */
export function loadCheckpointRun(path: string): RunData {
  if (!existsSync(path) || statSync(path).isDirectory()) throw new ConfigError(`checkpoint ${shown(path)} does not exist`);
  const file = readSafetensorsFile(path);
  const model = configFromCheckpoint(file, path);
  let train: { corpus?: unknown; seed?: unknown } = {};
  try {
    train = JSON.parse(file.metadata.train_config ?? '{}') as typeof train;
  } catch {
    // Only the corpus and seed of the subtitle come from it: without them the report says less.
  }
  const config: RunConfigView = {
    model,
    ...(typeof train.corpus === 'string' ? { corpus: train.corpus } : {}),
    ...(typeof train.seed === 'number' ? { seed: train.seed } : {}),
  };
  return { name: basename(path).replace(/\.safetensors$/i, ''), config, metrics: [], checkpoint: path };
}

/**
 * runs/NAME → KIND/NAME: the last `runs` folder on the path becomes `results` (or `acts`), so
 * runs/demo/x pairs with results/demo/x; a path without one gets KIND/NAME beside the run.
 */
export function siblingDir(run: string, kind: 'results' | 'acts'): string {
  const parts = resolve(run).split(sep);
  const i = parts.lastIndexOf('runs');
  if (i >= 0) return [...parts.slice(0, i), kind, ...parts.slice(i + 1)].join(sep);
  return join(dirname(resolve(run)), kind, basename(resolve(run)));
}

export function defaultResultsDir(run: string): string {
  return siblingDir(run, 'results');
}

export interface LoadedResults {
  sections: Section[];
  found: string[];
  missing: string[];
}

function readResultJson<T extends { schema_version: number; kind: string }>(file: string, kind: T['kind'], version: number): T {
  let v: T;
  try {
    v = JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (v?.kind !== kind) throw new ConfigError(`${file}: expected kind ${shown(kind)}, got ${shown(v?.kind)}`);
  if (v.schema_version !== version) throw new ConfigError(`${file}: schema_version ${shown(v.schema_version)} is not the supported ${version}`);
  return v;
}

/** The order of the SAE sections in a report: attribution (concat) first. */
const REPORT_SAE_MODES: readonly SaeModeName[] = ['concat', 'per-stream', 'summed'];

function readSaeJson<T extends { schema_version: number }>(file: string): T {
  let v: T;
  try {
    v = JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (v?.schema_version !== SAE_SCHEMA_VERSION) throw new ConfigError(`${file}: schema_version ${shown(v?.schema_version)} is not the supported ${SAE_SCHEMA_VERSION}`);
  return v;
}

/** results/NAME/sae/<mode>/summary.json for each mode, with the dashboards of each mode's last layer. */
export function loadSae(dir: string): { summaries: SaeSummary[]; dashboards: FeatureDashboards[] } {
  const summaries: SaeSummary[] = [];
  const dashboards: FeatureDashboards[] = [];
  for (const mode of REPORT_SAE_MODES) {
    const file = join(dir, mode, 'summary.json');
    if (!existsSync(file)) continue;
    const s = readSaeJson<SaeSummary>(file);
    summaries.push(s);
    const last = Math.max(...s.saes.map((x) => x.layer));
    for (const x of s.saes.filter((y) => y.layer === last)) {
      const d = join(dir, mode, x.path, 'dashboards.json');
      if (existsSync(d)) dashboards.push(readSaeJson<FeatureDashboards>(d));
    }
  }
  return { summaries, dashboards };
}

/**
 * The per-checkpoint results that `diagnose`, `probe` and `sae --mode concat` write with
 * --checkpoints: DIR/checkpoints/step-XXXXXX/{diagnostics.json, probes.json, sae/concat/summary.json}.
 */
export function loadCheckpointResults(dir: string): CheckpointResults[] {
  const root = join(dir, 'checkpoints');
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((name) => {
    const step = /^step-(\d+)$/.exec(name)?.[1];
    if (step === undefined) return [];
    const at = (...f: string[]) => join(root, name, ...f);
    const c: CheckpointResults = { step: Number(step) };
    if (existsSync(at('diagnostics.json'))) c.diagnostics = readResultJson<DiagnosticsResult>(at('diagnostics.json'), 'diagnostics', PROBES_SCHEMA_VERSION);
    if (existsSync(at('probes.json'))) c.probes = readResultJson<ProbesResult>(at('probes.json'), 'probes', PROBES_SCHEMA_VERSION);
    if (existsSync(at('sae', 'concat', 'summary.json'))) c.sae = readSaeJson<SaeSummary>(at('sae', 'concat', 'summary.json'));
    return c.diagnostics || c.probes || c.sae ? [c] : [];
  });
}

/** Each results file that exists becomes report sections; what is absent is listed, not an error. */
export function loadResults(dir: string, run: RunData): LoadedResults {
  const out: LoadedResults = { sections: [], found: [], missing: [] };
  const diag = join(dir, 'diagnostics.json');
  if (existsSync(diag)) {
    out.sections.push(diagnosticsSection(readResultJson<DiagnosticsResult>(diag, 'diagnostics', PROBES_SCHEMA_VERSION)));
    out.found.push('diagnostics.json');
  } else out.missing.push(diag);
  const probes = join(dir, 'probes.json');
  if (existsSync(probes)) {
    out.sections.push(probesSection(readResultJson<ProbesResult>(probes, 'probes', PROBES_SCHEMA_VERSION)));
    out.found.push('probes.json');
  } else out.missing.push(probes);
  const sae = loadSae(join(dir, 'sae'));
  if (sae.summaries.length) {
    out.sections.push(saeSection(sae.summaries, sae.dashboards));
    out.found.push(...sae.summaries.map((s) => `sae/${s.mode}`));
  } else out.missing.push(join(dir, 'sae'));
  const timeline = buildTimeline(loadCheckpointResults(dir), run.config.model.nStreams);
  const over = overTrainingSection(timeline, run);
  if (over) {
    out.sections.push(over);
    out.found.push(`checkpoints/ (${timeline.rows.length} steps)`);
  }
  return out;
}

/** report.html → report_files */
export function figuresDir(out: string): string {
  return join(dirname(out), `${basename(out).replace(/\.html?$/i, '')}_files`);
}

/** Fails before any work when the report or its figure folder exists and --force is off. */
export function assertReportWritable(out: string, force: boolean): void {
  assertWritable(out, force);
  const dir = figuresDir(out);
  if (existsSync(dir) && readdirSync(dir).length > 0 && !force) throw new ConfigError(`${dir}: already exists; pass --force to overwrite it`);
}

/** SVG files first, the HTML last: the report appears only once everything it names is there. */
export function writeReport(out: string, r: RenderedReport, force: boolean): { html: string; dir: string } {
  assertReportWritable(out, force);
  const dir = figuresDir(out);
  if (existsSync(dir)) for (const f of readdirSync(dir)) if (f.endsWith('.svg')) rmSync(join(dir, f));
  mkdirSync(dir, { recursive: true });
  for (const f of r.figures) writeFileAtomic(join(dir, `${f.id}.svg`), `<?xml version="1.0" encoding="UTF-8"?>\n${f.svg}\n`, { force: true });
  writeFileAtomic(out, r.html, { force });
  return { html: out, dir };
}

/** What a report is of: a run directory, or a checkpoint file alone. */
export type ReportSource = string | { checkpoint: string };

/** Builds the report of `run` with its results (default for a run: results/NAME beside it; a checkpoint needs them named). */
export function renderReportFor(source: ReportSource, resultsDir: string | undefined): RenderedReport & { resultsDir: string; found: string[]; warnings: string[] } {
  const run = typeof source === 'string' ? source : source.checkpoint;
  const data = typeof source === 'string' ? loadRun(source) : { ...loadCheckpointRun(source.checkpoint), warnings: [] };
  if (typeof source !== 'string' && resultsDir === undefined) throw new ConfigError(`--checkpoint ${shown(run)} needs --results DIR: without a run there is no results/NAME to find`);
  if (resultsDir !== undefined && !existsSync(resultsDir)) throw new ConfigError(`--results ${shown(resultsDir)} does not exist`);
  const dir = resultsDir ?? defaultResultsDir(run);
  const results = loadResults(dir, data);
  const rendered = renderRunReport({ run: data, resultSections: results.sections, missing: results.missing, generatedBy: `Generated by hcprobe from ${run}${results.found.length ? ` and ${dir}` : ''}.` });
  return { ...rendered, resultsDir: dir, found: results.found, warnings: data.warnings };
}
