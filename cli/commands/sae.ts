// `hcprobe sae` trains sparse autoencoders on a capture, per stream, on the concatenated
// streams or on their sum, and writes weights, metrics and feature dashboards (sae/).
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { checkPrefixes, defaultPrefixes, SAE_DEFAULTS, type SaeKind } from '../../sae/config.ts';
import { SAE_KINDS, SAE_MODES, type SaeModeName } from '../../sae/results-schema.ts';
import { DASHBOARD_DEFAULTS } from '../../sae/dashboards.ts';
import { type CeModel, loadCeModel, runSaes, type SaeRunOptions } from '../../sae/run-saes.ts';
import { readManifest } from '../../src/capture/read.ts';
import { type CaptureSite, type Manifest, STREAM_SITES } from '../../src/capture/schema.ts';
import { BACKENDS, initBackend } from '../../src/engine/backend.ts';
import { ConfigError, shown } from '../../src/errors.ts';
import { disposeParams } from '../../src/model/params.ts';
import { parseChoice, parseIntFlag, parseIntList, parseNumberFlag, parseSiteList } from '../parse.ts';
import { progressLine } from '../progress.ts';
import { overCheckpoints } from '../over-checkpoints.ts';
import { runCommand } from '../run-command.ts';

type Opts = Record<string, string | boolean | undefined>;

/** Defaults of the command, each with its reason (the SAE's own are in sae/config.ts). */
export const SAE_COMMAND_DEFAULTS = {
  site: 'resid_post', // the residual stream after a module: what HC papers analyse
  module: 'mlp', // resid_post of mlp = the block's output
  mode: 'per-stream' as SaeModeName, // the question is per stream
  tokens: 1_000_000, // about 10 passes over a 100k-token capture; a minute per tiny SAE on a CPU
  evalTokens: 16_384, // held-out tokens for metrics, CE and dashboards
  seed: 0,
};

/** ReLU's L1 coefficient: Anthropic's λ = 5 at d = 512, scaled by √(d/512) so the L1/MSE balance matches at any width. */
export function defaultL1(width: number): number {
  return 5 * Math.sqrt(width / 512);
}

/** Flags + the capture's manifest → run options (pure; ConfigError names the bad value). */
export function parseSaeFlags(o: Opts, m: Manifest): Omit<SaeRunOptions, 'acts' | 'manifest' | 'out' | 'command'> {
  const s = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  const siteFlag = s('site') ?? SAE_COMMAND_DEFAULTS.site;
  if (siteFlag === 'coeffs') throw new ConfigError('--site coeffs holds HC coefficients, not activations; choose resid_pre, resid_post, branch_in or branch_out');
  const refs = parseSiteList('--site', siteFlag, STREAM_SITES);
  const ref = refs[0];
  if (!ref || refs.length !== 1) throw new ConfigError(`--site takes one site or hook name, got ${shown(siteFlag)}`);
  const site: CaptureSite = ref.site;
  if (!m.sites.includes(site)) throw new ConfigError(`--site ${shown(siteFlag)} is not in this capture (captured sites: ${m.sites.join(', ')})`);
  // A hook name (blocks.1.hook_resid_mid) also names the module and the layer.
  const module = parseChoice('--module', s('module') ?? ref.module ?? SAE_COMMAND_DEFAULTS.module, ['attn', 'mlp'] as const);
  if (ref.module !== undefined && module !== ref.module) throw new ConfigError(`--module ${shown(module)} contradicts --site ${shown(siteFlag)}, which is the ${ref.module} module`);
  if (!m.modules.includes(module)) throw new ConfigError(`--module ${shown(module)} is not in this capture (captured: ${m.modules.join(', ')})`);
  const layers = s('layers') !== undefined ? parseIntList('--layers', s('layers') as string) : ref.layer !== undefined ? [ref.layer] : [...m.layers];
  const missing = layers.find((l) => !m.layers.includes(l));
  if (missing !== undefined) throw new ConfigError(`--layers: layer ${missing} is not in this capture (captured layers: ${m.layers.join(', ')})`);
  const mode = parseChoice('--mode', s('mode') ?? SAE_COMMAND_DEFAULTS.mode, SAE_MODES);
  const kind = parseChoice('--kind', s('kind') ?? SAE_DEFAULTS.kind, SAE_KINDS);
  const expansion = parseIntFlag('--expansion', s('expansion') ?? String(SAE_DEFAULTS.expansion));
  const width = mode === 'concat' ? m.n_streams * m.d_model : m.d_model;
  const act = parseKind(o, kind, mode, width, expansion, m.n_streams);
  const seeds = s('seeds') === undefined ? undefined : parseSeeds(s('seeds') as string, mode);
  return {
    site,
    module,
    layers,
    mode,
    act,
    expansion,
    tokens: parseIntFlag('--tokens', s('tokens') ?? String(SAE_COMMAND_DEFAULTS.tokens)),
    batch: parseIntFlag('--batch', s('batch') ?? String(SAE_DEFAULTS.batch)),
    ...(s('lr') === undefined ? {} : { lr: parseNumberFlag('--lr', s('lr') as string, Number.MIN_VALUE) }),
    seed: seeds ? (seeds[0] as number) : parseIntFlag('--seed', s('seed') ?? String(SAE_COMMAND_DEFAULTS.seed), 0),
    ...(seeds ? { extraSeeds: seeds.slice(1) } : {}),
    evalTokens: parseIntFlag('--eval-tokens', s('evalTokens') ?? String(SAE_COMMAND_DEFAULTS.evalTokens)),
    dashboards: { ...DASHBOARD_DEFAULTS, features: parseIntFlag('--features', s('features') ?? String(DASHBOARD_DEFAULTS.features), 0) },
  };
}

/** The kind's parameters from its flags; flags of other kinds are ignored, as --l1 is for topk. */
function parseKind(o: Opts, kind: SaeKind['kind'], mode: SaeModeName, width: number, expansion: number, nStreams: number): SaeKind {
  const s = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  const penalty = parseChoice('--decoder-penalty', s('decoderPenalty') ?? 'row-norm', ['row-norm', 'stream-norms'] as const);
  if (penalty === 'stream-norms' && (mode !== 'concat' || kind !== 'relu')) throw new ConfigError(`--decoder-penalty stream-norms weights an L1 penalty by the stream blocks of a concat decoder: it needs --mode concat --kind relu, got --mode ${shown(mode)} --kind ${shown(kind)}`);
  if (kind === 'relu') return { kind, l1: s('l1') === undefined ? defaultL1(width) : parseNumberFlag('--l1', s('l1') as string, 0), ...(penalty === 'stream-norms' ? { streamBlocks: nStreams } : {}) };
  if (kind === 'jumprelu') return { kind, l0: parseNumberFlag('--l0-coef', s('l0Coef') ?? String(SAE_DEFAULTS.l0), 0), bandwidth: parseNumberFlag('--bandwidth', s('bandwidth') ?? String(SAE_DEFAULTS.bandwidth), Number.MIN_VALUE) };
  const k = parseIntFlag('--k', s('k') ?? String(SAE_DEFAULTS.k));
  if (k > width * expansion) throw new ConfigError(`--k ${k} is larger than the SAE width ${width * expansion} (input width ${width} × --expansion ${expansion})`);
  if (kind !== 'matryoshka') return { kind, k };
  const prefixes = s('prefixes') === undefined ? defaultPrefixes(width * expansion) : parseIntList('--prefixes', s('prefixes') as string, 1);
  checkPrefixes(prefixes, width * expansion);
  return { kind, k, prefixes };
}

/** --seeds 0,1,2: at least two distinct seeds, concat only; the first is the run's --seed. */
export function parseSeeds(value: string, mode: SaeModeName): number[] {
  if (mode !== 'concat') throw new ConfigError(`--seeds compares stream attribution across seeds, which needs --mode concat, got --mode ${shown(mode)}`);
  const seeds = parseIntList('--seeds', value, 0);
  if (seeds.length < 2 || new Set(seeds).size !== seeds.length) throw new ConfigError(`--seeds takes two or more distinct seeds such as 0,1,2, got ${shown(value)}`);
  return seeds;
}

export function registerSae(program: Command, setExit: (code: number) => void): void {
  program
    .command('sae')
    .description('train sparse autoencoders on captured streams (per stream, concatenated or summed); writes weights, metrics and dashboards')
    .requiredOption('--acts <dir>', 'capture folder (acts/NAME)')
    .requiredOption('--out <dir>', 'output folder (results/NAME/sae); the run goes into <out>/<mode>/')
    .option('--checkpoints <list>', 'train on each per-checkpoint capture in ACTS/checkpoints/ ("all" or steps such as 40,80) into DIR/checkpoints/step-XXXXXX/sae/<mode>/ for --out DIR/sae')
    .option('--site <site>', `resid_pre|resid_post|branch_in|branch_out, or a hook name such as blocks.1.hook_resid_post (default ${SAE_COMMAND_DEFAULTS.site})`)
    .option('--layers <list>', 'layers, e.g. 0,1 (default: all captured)')
    .option('--module <m>', 'attn|mlp', SAE_COMMAND_DEFAULTS.module)
    .option('--mode <mode>', SAE_MODES.join('|'), SAE_COMMAND_DEFAULTS.mode)
    .option('--kind <kind>', SAE_KINDS.join('|'), SAE_DEFAULTS.kind)
    .option('--k <k>', 'active latents per token (topk, batchtopk)', String(SAE_DEFAULTS.k))
    .option('--l1 <x>', 'L1 coefficient (relu; default 5·√(d/512))')
    .option('--decoder-penalty <p>', 'relu, concat: weight of each latent\'s L1 term, row-norm (‖W_dec,i‖) or stream-norms (Σ over streams of the block norms, as in crosscoders)', 'row-norm')
    .option('--l0-coef <x>', `L0 penalty λ (jumprelu; default ${SAE_DEFAULTS.l0})`)
    .option('--bandwidth <x>', `straight-through kernel width ε (jumprelu; default ${SAE_DEFAULTS.bandwidth})`)
    .option('--prefixes <list>', 'nested prefix sizes ending at the SAE width (matryoshka; default m/64,m/16,m/4,m)')
    .option('--expansion <x>', 'latents per input dimension', String(SAE_DEFAULTS.expansion))
    .option('--tokens <n>', 'training tokens per SAE (passes over the capture as needed)', String(SAE_COMMAND_DEFAULTS.tokens))
    .option('--batch <n>', 'tokens per step', String(SAE_DEFAULTS.batch))
    .option('--lr <x>', 'Adam learning rate (default 2e-4/√(m/16384))')
    .option('--seed <s>', 'seed for init and shuffling', String(SAE_COMMAND_DEFAULTS.seed))
    .option('--seeds <list>', 'concat: one SAE per seed (e.g. 0,1,2; replaces --seed) and the stability of stream attribution across them')
    .option('--eval-tokens <n>', 'held-out tokens for metrics, CE and dashboards', String(SAE_COMMAND_DEFAULTS.evalTokens))
    .option('--features <n>', 'features per dashboards.json', String(DASHBOARD_DEFAULTS.features))
    .option('--checkpoint <file>', "the capture's model, for CE loss recovered (default: the checkpoint named in the capture)")
    .option('--backend <name>', BACKENDS.join('|'), 'auto')
    .option('--force', 'overwrite this mode\'s existing output')
    .action(async (o: Opts) => {
      setExit(
        await runCommand(() => overCheckpoints('sae', o, async (o) => {
          const acts = o.acts as string;
          const m = readManifest(acts);
          const parsed = parseSaeFlags(o, m);
          const backend = parseChoice('--backend', o.backend as string, BACKENDS);
          const out = join(o.out as string, parsed.mode);
          const existing = existsSync(out) && readdirSync(out).length > 0;
          if (existing && o.force !== true) throw new ConfigError(`output ${shown(out)} already exists; pass --force to overwrite it`);
          await initBackend(backend);
          const ce: CeModel = loadCeModel(m, typeof o.checkpoint === 'string' ? o.checkpoint : undefined);
          if (existing) rmSync(out, { recursive: true, force: true });
          if ('note' in ce) process.stderr.write(`no CE loss recovered: ${ce.note}\n`);
          const bar = progressLine('sae');
          const stepsPer = Math.ceil(parsed.tokens / parsed.batch);
          try {
            const summary = await runSaes({ ...parsed, acts, manifest: m, out, command: process.argv.slice(2).filter((a) => a !== '--force') }, ce, (p) =>
              bar.update(p.index * stepsPer + p.step, p.total * stepsPer, `${p.sae} loss ${p.loss.toFixed(4)} L0 ${p.l0.toFixed(1)} EV ${(1 - p.fvu).toFixed(3)} dead ${(100 * p.deadFraction).toFixed(1)}% | ${Math.round(p.tokensPerS)} tok/s`),
            );
            const evs = summary.saes.map((x) => x.eval.ev ?? Number.NaN);
            const seeds = summary.seed_stability?.[0]?.seeds.length ?? 1;
            const perSeed = seeds > 1 ? ` × ${seeds} seeds (EV of the first seed's)` : '';
            bar.finish(`trained ${summary.saes.length} SAE(s)${perSeed}; EV ${Math.min(...evs).toFixed(3)}–${Math.max(...evs).toFixed(3)}: ${out}`);
          } catch (e) {
            bar.finish();
            throw e;
          } finally {
            if ('params' in ce) disposeParams(ce.params);
          }
        })),
      );
    });
}
