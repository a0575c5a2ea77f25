// `hcprobe bench-step`: times full training steps on random tokens after warm-up and prints
// {"ms_per_step", "tokens_per_s"}; bench/train-throughput compares it with the reference.
import type { Command } from 'commander';
import { BACKENDS, initBackend } from '../../src/engine/backend.ts';
import { CONNECTION_KINDS, MODEL_DEFAULTS, type ModelConfig, STREAM_INIT_KINDS, validateModelConfig } from '../../src/model/config.ts';
import { benchStep } from '../../src/train/bench-step.ts';
import { engineBackend, engineDeviceFor } from '../../src/train/engine-runner.ts';
import { defaultWorkers } from '../../src/train/parallel.ts';
import { parseChoice, parseIntFlag } from '../parse.ts';
import { runCommand } from '../run-command.ts';

type Opts = Record<string, string | boolean | undefined>;

export function parseBenchModel(o: Opts): { model: ModelConfig; batchSize: number } {
  const str = (k: string, d: string) => (typeof o[k] === 'string' ? (o[k] as string) : d);
  const kind = parseChoice('--connection', str('connection', 'mhc-lite'), CONNECTION_KINDS);
  const init = parseChoice('--stream-init', str('streamInit', 'copy'), STREAM_INIT_KINDS);
  const model = validateModelConfig({
    ...MODEL_DEFAULTS,
    vocabSize: parseIntFlag('--vocab', str('vocab', '256')),
    dModel: parseIntFlag('--d-model', str('dModel', '128')),
    nLayers: parseIntFlag('--layers', str('layers', '4')),
    nHeads: parseIntFlag('--heads', str('heads', '4')),
    blockSize: parseIntFlag('--seq', str('seq', '128')),
    nStreams: kind === 'residual' || kind === 'post-norm' ? 1 : kind === 'residual-dual' ? 2 : parseIntFlag('--streams', str('streams', '4'), 1, 8),
    connection: kind === 'hc' || kind === 'frac' ? { kind, dynamic: o.static !== true, dynamicNorm: 'rms' } : kind === 'mhc' ? { kind, sinkhornIters: 20 } : { kind },
    streamInit: init === 'lss' ? { kind: 'lss', center: 0.6 } : init === 'noise' ? { kind: 'noise', sigma: 0.2 } : { kind: init },
  });
  return { model, batchSize: parseIntFlag('--batch', str('batch', '8')) };
}

export function registerBenchStep(program: Command, setExit: (code: number) => void): void {
  program
    .command('bench-step')
    .description('time full training steps (forward, backward, AdamW) on random tokens')
    .option('--connection <kind>', CONNECTION_KINDS.join('|'), 'mhc-lite')
    .option('--static', 'static HC coefficients (hc only)')
    .option('--stream-init <init>', STREAM_INIT_KINDS.join('|'), 'copy')
    .option('--streams <n>', 'streams', '4')
    .option('--layers <n>', 'layers', '4')
    .option('--heads <n>', 'attention heads', '4')
    .option('--d-model <d>', 'model width', '128')
    .option('--seq <t>', 'sequence length', '128')
    .option('--batch <b>', 'sequences per step', '8')
    .option('--vocab <v>', 'vocabulary size', '256')
    .option('--steps <n>', 'timed steps', '10')
    .option('--warmup <n>', 'untimed steps first', '3')
    .option('--seed <s>', 'seed', '1')
    .option('--workers <n>', 'extra data-parallel worker threads (wasm); default: one per extra core on wasm')
    .option('--backend <name>', BACKENDS.join('|'), 'auto')
    .option('--tfjs-webgpu', "on webgpu, time tfjs-webgpu's step instead of hcprobe's engine (for comparisons)")
    .option('--json', 'print one JSON object')
    .action(async (o: Opts) => {
      setExit(
        await runCommand(async () => {
          const { model, batchSize } = parseBenchModel(o);
          const steps = parseIntFlag('--steps', o.steps as string);
          const warmup = parseIntFlag('--warmup', o.warmup as string, 0);
          const seed = parseIntFlag('--seed', o.seed as string, 0);
          const requested = parseChoice('--backend', o.backend as string, BACKENDS);
          const engine = o.tfjsWebgpu === true ? undefined : await engineDeviceFor(requested, model);
          const backend = engine ? await engineBackend(engine) : await initBackend(requested);
          const workers = engine ? 0 : typeof o.workers === 'string' ? parseIntFlag('--workers', o.workers, 0) : defaultWorkers(backend.active);
          const r = await benchStep({ model, batchSize, steps, warmup, seed, workers, ...(engine ? { engine: engine.device } : {}) });
          const out = { ms_per_step: r.ms_per_step, tokens_per_s: r.tokens_per_s, backend: backend.active, device: backend.device, workers, steps, ...(r.dispatches ? { dispatches: r.dispatches } : {}), step_ms: r.step_ms };
          process.stdout.write(o.json ? `${JSON.stringify(out)}\n` : `${r.ms_per_step.toFixed(1)} ms/step, ${r.tokens_per_s.toFixed(0)} tokens/s (${backend.active}: ${backend.device}, ${workers} extra worker(s), median of ${steps})\n`);
        }),
      );
    });
}
