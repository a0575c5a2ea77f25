// Host cost of running a recorded StepProgram: N GEMM dispatches over one arena, encoded into one
// command buffer and submitted once per run, on Dawn's null backend by default (Dawn validates
// and records but executes nothing, so what is timed is the CPU cost). Usage:
//   node --import tsx bench/engine/program-host.ts [dispatches=275] [runs=50]
// HCPROBE_DAWN_FLAGS replaces the default "backend=null" (e.g. "" for the real adapter).
import { requestEngineDevice } from '../../src/engine/program/engine-device.ts';
import { type GemmSpec, recordGemm } from '../../src/engine/program/gemm.ts';
import { GpuArena } from '../../src/engine/program/gpu-arena.ts';
import { StepProgram } from '../../src/engine/program/step-program.ts';

const dispatches = Number(process.argv[2] ?? 275);
const runs = Number(process.argv[3] ?? 50);
process.env.HCPROBE_DAWN_FLAGS ??= 'backend=null';
const engine = await requestEngineDevice();
if (!engine) throw new Error('no adapter');
const { device } = engine;
// the small structure of the host-time target: d 128, 4·d MLP, 256 tokens (batch 4 × seq 64)
const d = 128;
const rows = 256;
const shapes: GemmSpec[] = [
  { transA: false, transB: true, M: rows, N: 3 * d, K: d },
  { transA: false, transB: true, M: rows, N: 4 * d, K: d },
  { transA: false, transB: false, M: rows, N: d, K: 4 * d },
  { transA: true, transB: false, M: 4 * d, N: d, K: rows },
];
const arena = new GpuArena(device, 'bench', [
  { name: 'a', length: rows * 4 * d },
  { name: 'b', length: 4 * d * 4 * d },
  { name: 'c', length: rows * 4 * d },
]);
const t0 = performance.now();
const program = new StepProgram(device);
for (let i = 0; i < dispatches; i++) recordGemm(program, `gemm ${i}`, shapes[i % shapes.length] as GemmSpec, { a: arena.binding('a'), b: arena.binding('b'), c: arena.binding('c') });
const recordMs = performance.now() - t0;
for (let i = 0; i < 5; i++) program.run();
await device.queue.onSubmittedWorkDone();
const times: number[] = [];
for (let i = 0; i < runs; i++) {
  const t = performance.now();
  program.run();
  times.push(performance.now() - t);
}
await device.queue.onSubmittedWorkDone();
times.sort((x, y) => x - y);
const out = {
  device: engine.description || process.env.HCPROBE_DAWN_FLAGS,
  dispatches: program.dispatchCount,
  recordMs: Number(recordMs.toFixed(1)),
  runMsMedian: Number((times[Math.floor(runs / 2)] as number).toFixed(3)),
  runMsMin: Number((times[0] as number).toFixed(3)),
};
process.stdout.write(`${JSON.stringify(out)}\n`);
arena.destroy();
device.destroy();
process.exit(0);
