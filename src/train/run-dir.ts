// A training run on disk: runs/<name>/{config.json, metrics.jsonl, checkpoints/step-XXXXXX.safetensors}.
// Checkpoints carry model, optimizer state, data position and the config, written atomically.
import { existsSync, readdirSync, readFileSync, appendFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, shown } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { checkpointMetadata, checkpointTensors } from '../model/checkpoint.ts';
import { initReadStreams, type Params } from '../model/params.ts';
import { readSafetensorsFile, type SafetensorsFile, serializeSafetensors } from '../io/safetensors.ts';
import type { AdamW } from './optimizer.ts';
import type { TrainConfig } from './train-config.ts';

export interface RunPaths {
  root: string;
  config: string;
  metrics: string;
  checkpoints: string;
}

export function runPaths(root: string): RunPaths {
  return { root, config: join(root, 'config.json'), metrics: join(root, 'metrics.jsonl'), checkpoints: join(root, 'checkpoints') };
}

export function checkpointPath(run: RunPaths, step: number): string {
  return join(run.checkpoints, `step-${String(step).padStart(6, '0')}.safetensors`);
}

/** Progress that the loop carries across a resume besides model and optimizer. */
export interface LoopState {
  step: number;
  /** Sum and count of train losses since the last log line. */
  lossSum: number;
  lossCount: number;
}

export function writeTrainCheckpoint(run: RunPaths, cfg: TrainConfig, params: Params, opt: AdamW, state: LoopState): string {
  const tensors = checkpointTensors(params, cfg.model);
  for (const [k, v] of opt.state()) tensors.set(k, v);
  const metadata = {
    ...checkpointMetadata(cfg.model, initReadStreams(cfg.model, cfg.seed)),
    train_config: JSON.stringify(cfg),
    step: String(state.step),
    adam_t: String(opt.t),
    // Batches are a pure function of (seed, step): the step is the data position and the RNG state.
    data_seed: String(cfg.seed),
    loop_state: JSON.stringify(state),
  };
  const path = checkpointPath(run, state.step);
  writeFileAtomic(path, serializeSafetensors(tensors, metadata), { force: true });
  return path;
}

/** What config.json holds besides the resolved TrainConfig. */
export interface RunConfigFile extends TrainConfig {
  init_read_streams?: number[];
  hcprobe_version?: string;
}

/** runs/NAME/config.json, the one reader of it: every problem is a ConfigError naming the file. */
export function readRunConfig(run: string): RunConfigFile {
  const path = runPaths(run).config;
  if (!existsSync(run) || !statSync(run).isDirectory()) throw new ConfigError(`run ${shown(run)} does not exist`);
  if (!existsSync(path)) throw new ConfigError(`${run} has no config.json: not an hcprobe run directory`);
  let v: RunConfigFile;
  try {
    v = JSON.parse(readFileSync(path, 'utf8')) as RunConfigFile;
  } catch (e) {
    throw new ConfigError(`${path}: not valid JSON (${(e as Error).message}); the file is damaged`);
  }
  if (typeof v?.model?.nStreams !== 'number' || typeof v.model.nLayers !== 'number') throw new ConfigError(`${path}: no model config (model.nStreams or model.nLayers missing)`);
  return v;
}

export interface SavedRun {
  file: SafetensorsFile;
  path: string;
  cfg: TrainConfig;
  state: LoopState;
  adamT: number;
}

export function latestCheckpoint(run: RunPaths): string | undefined {
  if (!existsSync(run.checkpoints)) return undefined;
  const names = readdirSync(run.checkpoints).filter((f) => /^step-\d+\.safetensors$/.test(f)).sort();
  const last = names[names.length - 1];
  return last === undefined ? undefined : join(run.checkpoints, last);
}

export function readTrainCheckpoint(path: string): SavedRun {
  const file = readSafetensorsFile(path);
  const m = file.metadata;
  if (!m.train_config || !m.loop_state || !m.adam_t) throw new ConfigError(`${path}: not a training checkpoint of hcprobe (no train_config in its metadata)`);
  try {
    return { file, path, cfg: JSON.parse(m.train_config) as TrainConfig, state: JSON.parse(m.loop_state) as LoopState, adamT: Number(m.adam_t) };
  } catch {
    throw new ConfigError(`${path}: training metadata is not valid JSON: ${shown(m.train_config)}`);
  }
}

/** metrics.jsonl read back: its records, and notes for the user about lines it skipped. */
export interface MetricsLog {
  records: Record<string, unknown>[];
  warnings: string[];
}

/**
 * One JSON object per line. A last line that does not parse is what a run killed while
 * appending leaves: it is skipped with a warning. An earlier one is damage: a ConfigError
 * naming the file and the line.
 */
export function readMetricsLog(path: string): MetricsLog {
  const log: MetricsLog = { records: [], warnings: [] };
  if (!existsSync(path)) return log;
  const lines = readFileSync(path, 'utf8').split('\n');
  let last = lines.length - 1;
  while (last > 0 && (lines[last] as string).trim() === '') last--;
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const record = parseRecord(line);
    if (record) log.records.push(record);
    else if (i === last) log.warnings.push(`${path}: line ${i + 1} is cut short (the run was stopped while writing it) and was skipped`);
    else throw new ConfigError(`${path}: line ${i + 1} is not a JSON object (${shown(line)}): the metrics log is damaged; repair or delete that line`);
  });
  return log;
}

function parseRecord(line: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(line) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps the records up to `step`, so a resumed run appends exactly what an uninterrupted one would. */
export function truncateMetrics(path: string, step: number): void {
  const kept = readMetricsLog(path).records.filter((r) => (r.step as number) <= step);
  writeFileSync(path, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

export function appendMetrics(path: string, record: Record<string, unknown>): void {
  appendFileSync(path, `${JSON.stringify(record)}\n`);
}
