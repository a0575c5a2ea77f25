// Times hcprobe's SAE training step (TopK, the sparse kernels) on random inputs and prints one
// JSON object like torch_sae.py's: median ms per step and tokens/s.
//   node --import tsx bench/sae/step.ts --d 256 --m 2048 --k 32 --batch 4096 [--steps 10 --warmup 3]
import { parseArgs } from 'node:util';
import { saeTrainConfig } from '../../sae/config.ts';
import { initSaeParams } from '../../sae/sae-params.ts';
import { SaeTrainer } from '../../sae/train-step.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { rngFor } from '../../src/engine/random.ts';

const { values } = parseArgs({ options: { d: { type: 'string' }, m: { type: 'string' }, k: { type: 'string' }, batch: { type: 'string' }, steps: { type: 'string', default: '10' }, warmup: { type: 'string', default: '3' } } });
const [d, m, k, batch, steps, warmup] = [values.d, values.m, values.k, values.batch, values.steps, values.warmup].map(Number) as [number, number, number, number, number, number];
const backend = await initBackend('wasm');
const cfg = saeTrainConfig({ act: { kind: 'topk', k }, dIn: d, dSae: m, tokens: batch * (steps + warmup), batch });
const p = initSaeParams(d, m, cfg.act, 0);
const trainer = new SaeTrainer(p, cfg, cfg.deadTokens);
const rng = rngFor(0, 'bench');
const batches = Array.from({ length: 4 }, () => Float32Array.from({ length: batch * d }, () => rng.normal()));
const times: number[] = [];
for (let s = 0; s < warmup + steps; s++) {
  const t = performance.now();
  trainer.step(batches[s % batches.length] as Float32Array, batch);
  if (s >= warmup) times.push(performance.now() - t);
}
trainer.dispose();
times.sort((a, b) => a - b);
const ms = times[Math.floor(times.length / 2)] as number;
process.stdout.write(`${JSON.stringify({ impl: `hcprobe (tfjs ${backend.active}, ${backend.device})`, ms_per_step: ms, tokens_per_s: batch / (ms / 1000) })}\n`);
