// Time of the engine's fp32 GEMM (src/engine/program/gemm.ts) on the adapter Dawn offers: for each
// shape, REPS dispatches recorded into one program and submitted once, timed from submit to
// onSubmittedWorkDone after a warm-up run; prints one JSON line per shape with ms per GEMM and
// TFLOP/s. Shapes: 4096³ and the products of a step at the reference's S dims (tokens 4096 =
// batch 16 × seq 256, d 512, vocab 50,304), each in the variant the step uses.
// Usage: node --import tsx bench/engine/gemm-time.ts [REPS=20] [--quick]   (--quick: small shapes, for lavapipe)
// bench/gpu/run.sh runs it (part 'gemm') next to bench/gpu/torch_gemm.py, cuBLAS at the same shapes.
import { requestEngineDevice } from '../../src/engine/program/engine-device.ts';
import { type GemmSpec, recordGemm } from '../../src/engine/program/gemm.ts';
import { GpuArena } from '../../src/engine/program/gpu-arena.ts';
import { StepProgram } from '../../src/engine/program/step-program.ts';

const reps = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 20);
const quick = process.argv.includes('--quick');
const engine = await requestEngineDevice();
if (!engine) throw new Error('no WebGPU adapter');
const { device } = engine;
const T = quick ? 256 : 4096;
const d = quick ? 64 : 512;
const V = quick ? 1000 : 50304;
const shapes: [string, GemmSpec][] = [
  ['square', { transA: false, transB: false, M: quick ? 256 : 4096, N: quick ? 256 : 4096, K: quick ? 256 : 4096 }],
  ['c_fc (x Wᵀ)', { transA: false, transB: true, M: T, N: 4 * d, K: d }],
  ['c_proj dx (dy W)', { transA: false, transB: false, M: T, N: 4 * d, K: d }],
  ['c_fc dW (dyᵀ x)', { transA: true, transB: false, M: 4 * d, N: d, K: T }],
  ['logits (x wteᵀ)', { transA: false, transB: true, M: quick ? 64 : 256, N: V, K: d }],
];
for (const [name, spec] of shapes) {
  const { M, N, K } = spec;
  const arena = new GpuArena(device, 'gemm', [
    { name: 'a', length: M * K },
    { name: 'b', length: K * N },
    { name: 'c', length: M * N },
  ]);
  arena.write('a', Float32Array.from({ length: M * K }, (_, i) => ((i % 97) - 48) / 97));
  arena.write('b', Float32Array.from({ length: K * N }, (_, i) => ((i % 89) - 44) / 89));
  const program = new StepProgram(device);
  for (let r = 0; r < reps; r++) recordGemm(program, `${name} ${r}`, spec, { a: arena.binding('a'), b: arena.binding('b'), c: arena.binding('c') });
  program.run();
  await device.queue.onSubmittedWorkDone();
  const t0 = performance.now();
  program.run();
  await device.queue.onSubmittedWorkDone();
  const ms = (performance.now() - t0) / reps;
  const flop = 2 * M * N * K;
  process.stdout.write(`${JSON.stringify({ shape: name, M, N, K, transA: spec.transA, transB: spec.transB, reps, ms_per_gemm: Number(ms.toFixed(4)), tflops: Number((flop / (ms / 1000) / 1e12).toFixed(3)), device: engine.description })}\n`);
  arena.destroy();
}
process.exit(0);
