// `--checkpoints all|STEPS` of capture, diagnose, probe and sae: the command's own one-checkpoint
// body, run once per checkpoint with its input and output moved into that checkpoint's folder
// (probes/checkpoint-series.ts), after every output has been checked, with a header per checkpoint.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointActsDir, checkpointCaptures, checkpointResultPath, parseCheckpoints, runCheckpoints } from '../probes/checkpoint-series.ts';
import { ConfigError, shown } from '../src/errors.ts';

type Opts = Record<string, string | boolean | undefined>;

export type OverTrainingCommand = 'capture' | 'diagnose' | 'probe' | 'sae';

export interface CheckpointTarget {
  step: number;
  /** The flags of the one-checkpoint command for this checkpoint. */
  opts: Opts;
  /** What it writes (a file, or a folder), for the check before any work. */
  output: string;
}

/** The per-checkpoint commands that `--checkpoints` stands for (reads the folders; writes nothing). */
export function checkpointTargets(command: OverTrainingCommand, o: Opts): CheckpointTarget[] {
  const sel = parseCheckpoints(String(o.checkpoints));
  if (typeof o.checkpoint === 'string') {
    throw new ConfigError(`--checkpoints ${shown(o.checkpoints)} and --checkpoint ${shown(o.checkpoint)} exclude each other: with --checkpoints, each checkpoint's model is its own`);
  }
  const out = o.out as string;
  if (command === 'capture') {
    if (typeof o.run !== 'string') throw new ConfigError(`--checkpoints ${shown(o.checkpoints)} needs --run DIR: the checkpoints are those of a training run`);
    return runCheckpoints(o.run, sel).map((c) => {
      const dir = checkpointActsDir(out, c.step);
      return { step: c.step, opts: { ...o, checkpoint: c.path, out: dir }, output: dir };
    });
  }
  return checkpointCaptures(o.acts as string, sel).map((c) => {
    const target = checkpointResultPath(out, c.step);
    const opts: Opts = { ...o, acts: c.path, out: target };
    // The timeline needs only the capture-based diagnostics; the causal part costs 2·n·L passes per checkpoint.
    if (command === 'diagnose') opts.causal = o.causal === true;
    return { step: c.step, opts, output: command === 'sae' ? join(target, String(o.mode)) : target };
  });
}

const taken = (p: string) => existsSync(p) && (!statSync(p).isDirectory() || readdirSync(p).length > 0);

/**
 * Without --checkpoints: `body(o)`. With it: every target's output is checked first (the house
 * rule: an existing one needs --force, or --resume for capture), then `body` runs per checkpoint.
 */
export async function overCheckpoints(command: OverTrainingCommand, o: Opts, body: (o: Opts) => Promise<void>): Promise<void> {
  if (o.checkpoints === undefined) return body(o);
  const targets = checkpointTargets(command, o);
  const existing = targets.filter((t) => taken(t.output)).map((t) => t.output);
  if (existing.length > 0 && o.force !== true && o.resume !== true) {
    throw new ConfigError(`output ${existing.map((p) => shown(p)).join(', ')} already exists; pass --force to overwrite${command === 'capture' ? ' or --resume to continue' : ''}`);
  }
  for (const [i, t] of targets.entries()) {
    process.stderr.write(`[checkpoint ${i + 1}/${targets.length}] step ${t.step}: ${t.output}\n`);
    await body(t.opts);
  }
}
