// The checkpoints of a run taken one by one, "over training": the --checkpoints flag, a run's
// checkpoint files by step, its per-checkpoint captures (ACTS/checkpoints/step-XXXXXX/), and
// where each checkpoint's results go (DIR/checkpoints/step-XXXXXX/NAME for an output DIR/NAME).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ConfigError, shown } from '../src/errors.ts';
import { runPaths } from '../src/train/run-dir.ts';

/** Every checkpoint, or the steps named. */
export type CheckpointSelection = 'all' | number[];

/** "all" or a comma list of training steps ("40,80"); anything else is a ConfigError naming it. */
export function parseCheckpoints(value: string): CheckpointSelection {
  const v = value.trim();
  if (v === 'all') return 'all';
  const parts = v.split(',').map((s) => s.trim());
  if (v === '' || parts.some((p) => !/^\d+$/.test(p))) throw new ConfigError(`--checkpoints must be "all" or a comma list of training steps such as 40,80, got ${shown(value)}`);
  return [...new Set(parts.map(Number))].sort((a, b) => a - b);
}

/** step 40 → "step-000040", the name the trainer gives its checkpoint files. */
export function stepDirName(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

/** The per-checkpoint capture of `step` under a capture folder ACTS: ACTS/checkpoints/step-XXXXXX. */
export function checkpointActsDir(acts: string, step: number): string {
  return join(acts, 'checkpoints', stepDirName(step));
}

/** The per-checkpoint version of an output path DIR/NAME: DIR/checkpoints/step-XXXXXX/NAME. */
export function checkpointResultPath(out: string, step: number): string {
  return join(dirname(out), 'checkpoints', stepDirName(step), basename(out));
}

export interface StepEntry {
  step: number;
  /** The checkpoint file, or the capture folder. */
  path: string;
}

/** Folder entries named step-XXXXXX[suffix], by step. */
function stepEntries(dir: string, suffix: string): StepEntry[] {
  if (!existsSync(dir)) return [];
  const re = new RegExp(`^step-(\\d+)${suffix.replace('.', '\\.')}$`);
  return readdirSync(dir)
    .flatMap((name) => {
      const m = re.exec(name);
      return m ? [{ step: Number(m[1]), path: join(dir, name) }] : [];
    })
    .sort((a, b) => a.step - b.step);
}

/** Keeps the selected steps; a step that is not there is a ConfigError listing those that are. */
export function selectSteps(entries: StepEntry[], sel: CheckpointSelection, where: string): StepEntry[] {
  if (sel === 'all') return entries;
  const have = entries.map((e) => e.step);
  const missing = sel.find((s) => !have.includes(s));
  if (missing !== undefined) throw new ConfigError(`--checkpoints: step ${shown(missing)} is not in ${where} (steps there: ${have.join(', ') || 'none'})`);
  return entries.filter((e) => sel.includes(e.step));
}

/** runs/NAME/checkpoints/step-XXXXXX.safetensors of the selection, by step. */
export function runCheckpoints(run: string, sel: CheckpointSelection): StepEntry[] {
  const dir = runPaths(run).checkpoints;
  const entries = stepEntries(dir, '.safetensors');
  if (entries.length === 0) throw new ConfigError(`run ${shown(run)} has no checkpoints in ${dir}`);
  return selectSteps(entries, sel, dir);
}

/**
 * The per-checkpoint captures ACTS/checkpoints/step-XXXXXX/ of the selection, by step. A folder
 * without its manifest is an interrupted capture: an error, so no timeline has a silent gap.
 */
export function checkpointCaptures(acts: string, sel: CheckpointSelection): StepEntry[] {
  const dir = join(acts, 'checkpoints');
  const entries = selectSteps(stepEntries(dir, '').filter((e) => statSync(e.path).isDirectory()), sel, dir);
  if (entries.length === 0) throw new ConfigError(`${shown(acts)} holds no per-checkpoint captures (${dir}/step-XXXXXX/): run hcprobe capture --checkpoints all first`);
  const partial = entries.find((e) => !existsSync(join(e.path, 'manifest.json')));
  if (partial) throw new ConfigError(`${partial.path} has no manifest.json (an interrupted capture): finish it with hcprobe capture --checkpoints ${partial.step} --resume`);
  return entries;
}
