// `hcprobe probe`: linear probes with Hewitt–Liang control tasks for every label × site ×
// layer × module × stream of a capture, to one JSON file.
import type { Command } from 'commander';
import { PROBE_DEFAULTS, runProbes } from '../../probes/linear-probes.ts';
import type { StreamSite } from '../../probes/results-schema.ts';
import { readManifest } from '../../src/capture/read.ts';
import { STREAM_SITES } from '../../src/capture/schema.ts';
import { BACKENDS, type BackendName, initBackend } from '../../src/engine/backend.ts';
import { ConfigError, shown } from '../../src/errors.ts';
import { assertWritable, writeFileAtomic } from '../../src/io/atomic-write.ts';
import type { Sublayer } from '../../src/model/hooks.ts';
import { distinct, parseChoice, parseIntFlag, parseIntList, parseNumberFlag, parseSiteList } from '../parse.ts';
import { progressLine } from '../progress.ts';
import { overCheckpoints } from '../over-checkpoints.ts';
import { runCommand } from '../run-command.ts';

type Opts = Record<string, string | boolean | undefined>;

export interface ProbeArgs {
  acts: string;
  out: string;
  force: boolean;
  labels: string[] | undefined;
  sites: StreamSite[] | undefined;
  layers: number[] | undefined;
  modules: Sublayer[];
  maxTokens: number | undefined;
  l2Grid: number[];
  seed: number;
  backend: BackendName;
  /** Worker threads besides the main one; undefined: one per extra core. */
  workers: number | undefined;
}

const list = (v: string) => v.split(',').map((s) => s.trim()).filter((s) => s !== '');

/**
 * Flags → typed arguments (pure); defaults that depend on the capture stay undefined. The probes
 * run on the grid sites × layers × modules: a hook name in --sites adds its site, layer and
 * module; --layers and --modules add to those; with none named, every captured layer and both modules.
 */
export function parseProbeArgs(o: Opts): ProbeArgs {
  const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  const refs = str('sites') === undefined ? [] : parseSiteList('--sites', str('sites') as string, STREAM_SITES);
  const layers = distinct([...(str('layers') === undefined ? [] : parseIntList('--layers', str('layers') as string)), ...refs.map((r) => r.layer)]);
  const modules = distinct([...(str('modules') === undefined ? [] : list(str('modules') as string).map((s) => parseChoice('--modules', s, ['attn', 'mlp'] as const))), ...refs.map((r) => r.module)]);
  const maxTokens = str('maxTokens') ?? String(PROBE_DEFAULTS.maxTokens);
  return {
    acts: o.acts as string,
    out: o.out as string,
    force: o.force === true,
    labels: str('labels') === undefined ? undefined : list(str('labels') as string),
    sites: refs.length === 0 ? undefined : distinct(refs.map((r) => r.site)),
    layers: layers.length === 0 ? undefined : layers,
    modules: modules.length === 0 ? ['attn', 'mlp'] : modules,
    maxTokens: maxTokens === 'all' ? undefined : parseIntFlag('--max-tokens', maxTokens),
    l2Grid: str('l2') === undefined ? PROBE_DEFAULTS.l2Grid : list(str('l2') as string).map((v) => parseNumberFlag('--l2', v, 0)),
    seed: parseIntFlag('--seed', str('seed') ?? '0', 0),
    backend: parseChoice('--backend', str('backend') ?? 'wasm', BACKENDS),
    workers: str('workers') === undefined ? undefined : parseIntFlag('--workers', str('workers') as string, 0),
  };
}

export function registerProbe(program: Command, setExit: (code: number) => void): void {
  program
    .command('probe')
    .description('logistic-regression probes with control tasks per label × site × layer × module × stream (and the summed streams)')
    .requiredOption('--acts <dir>', 'capture folder (acts/NAME)')
    .requiredOption('--out <file>', 'output JSON (results/NAME/probes.json)')
    .option('--checkpoints <list>', 'probe each per-checkpoint capture in ACTS/checkpoints/ ("all" or steps such as 40,80) into DIR/checkpoints/step-XXXXXX/probes.json for --out DIR/probes.json')
    .option('--labels <list>', 'labels to probe, e.g. topic,pos (default: all in the capture)')
    .option('--sites <list>', `sites (${STREAM_SITES.join(',')}) or hook names (blocks.1.hook_resid_mid: resid_post, layer 1, attn); default: all captured`)
    .option('--layers <list>', 'layers, e.g. 0,3 (default: those the hook names select, else all captured)')
    .option('--modules <list>', 'attn,mlp (default: those the hook names select, else both)')
    .option('--max-tokens <n>', `captured tokens per site (whole sequences), or "all" (default ${PROBE_DEFAULTS.maxTokens})`)
    .option('--l2 <list>', `L2 grid, chosen per probe on the validation split (default ${PROBE_DEFAULTS.l2Grid.join(',')})`)
    .option('--seed <s>', 'seed of the sequence split and the control labels', '0')
    .option('--backend <name>', `${BACKENDS.join('|')} (default wasm)`)
    .option('--workers <n>', 'worker threads besides the main one, on wasm and cpu (default: one per extra core; results do not depend on it)')
    .option('--force', 'overwrite an existing output file')
    .action(async (o: Opts) => {
      setExit(
        await runCommand(() => overCheckpoints('probe', o, async (o) => {
          const a = parseProbeArgs(o);
          if (a.l2Grid.length === 0) throw new ConfigError(`--l2 must list at least one value, got ${shown(o.l2)}`);
          assertWritable(a.out, a.force);
          const m = readManifest(a.acts);
          const captured = m.sites.filter((s): s is StreamSite => s !== 'coeffs');
          const opts = {
            acts: a.acts,
            manifest: m,
            labels: a.labels ?? m.labels.map((l) => l.name),
            sites: a.sites ?? captured,
            layers: a.layers ?? m.layers,
            modules: a.modules,
            seed: a.seed,
            l2Grid: a.l2Grid,
            ...(a.maxTokens === undefined ? {} : { maxTokens: a.maxTokens }),
            ...(a.workers === undefined ? {} : { workers: a.workers }),
          };
          await initBackend(a.backend);
          const bar = progressLine('probe');
          try {
            const result = await runProbes(opts, (done, total, what) => bar.update(done, total, what));
            writeFileAtomic(a.out, `${JSON.stringify(result, null, 1)}\n`, { force: a.force });
            bar.finish(`wrote ${result.probes.length} probes to ${a.out}${result.skipped.length ? ` (${result.skipped.length} skipped: see "skipped")` : ''}`);
            for (const l of result.labels) {
              const best = result.probes.filter((p) => p.label === l.name).sort((x, y) => y.selectivity - x.selectivity)[0];
              if (best) {
                process.stderr.write(`  ${l.name.padEnd(16)} best selectivity ${best.selectivity.toFixed(3)}: accuracy ${best.accuracy.toFixed(3)} (control ${best.control_accuracy.toFixed(3)}, chance ${best.chance.toFixed(3)}) at ${best.site} layer ${best.layer} ${best.module} stream ${best.stream}\n`);
              }
            }
          } catch (e) {
            bar.finish();
            throw e;
          }
        })),
      );
    });
}
