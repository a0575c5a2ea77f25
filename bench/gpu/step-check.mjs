// Training-step check and kernel profile for the GPU benchmark; uses the project's own model,
// optimizer and train step (src/), like `hcprobe bench-step`. Run from the repository root:
//   node --require ./bench/gpu/preload.cjs bench/gpu/step-check.mjs check   --backend webgpu [model options]
//   node --require ./bench/gpu/preload.cjs bench/gpu/step-check.mjs profile --backend webgpu [model options]
// check: loss and gradient norm of each of --steps steps on fixed random tokens (seeded), to
//        compare backends (webgpu against wasm).
// profile: after --warmup steps, one step under tf.profile: GPU time per kernel name (timestamp
//        queries, when the adapter has them), tensor and kernel counts, compute dispatches (tfjs'
//        kernels and hcprobe's fused programs; tf.profile sees only the former), wall time.
// cpuprof: after --warmup steps, a V8 CPU profile of --steps steps, written to --out FILE
//        (summarise it with bench/gpu/cpuprof.mjs).
// Model options are bench-step's (--connection, --stream-init, --streams, --layers, --heads,
// --d-model, --seq, --batch, --vocab); prints one JSON object.
import { register } from 'tsx/esm/api';

register();
const { initBackend, shutdownBackend } = await import('../../src/engine/backend.ts');
const { parseBenchModel } = await import('../../cli/commands/bench-step.ts');
const { initParams, paramSpecs, disposeParams } = await import('../../src/model/params.ts');
const { AdamW, optimizerGroups } = await import('../../src/train/optimizer.ts');
const { TrainStep } = await import('../../src/train/step.ts');
const { rngFor } = await import('../../src/engine/random.ts');
const { tf } = await import('../../src/engine/tf.ts');

const [mode = 'check', ...rest] = process.argv.slice(2);
const o = {};
for (let i = 0; i < rest.length; i += 2) {
  const key = (rest[i] ?? '').replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
  o[key] = rest[i + 1];
}
const steps = Number(o.steps ?? (mode === 'check' ? 5 : mode === 'cpuprof' ? 2 : 1));
const warmup = Number(o.warmup ?? (mode === 'check' ? 0 : 2));
const backend = await initBackend(o.backend ?? 'webgpu');
// Every compute dispatch on the device, tfjs' kernels and hcprobe's fused programs alike.
let dispatches = 0;
const passProto = globalThis.GPUComputePassEncoder?.prototype;
if (passProto) {
  const dispatchWorkgroups = passProto.dispatchWorkgroups;
  passProto.dispatchWorkgroups = function (...a) {
    dispatches++;
    return dispatchWorkgroups.apply(this, a);
  };
}
const { model, batchSize } = parseBenchModel(o);
const seed = 1;
const params = initParams(model, seed);
const opt = new AdamW(params, optimizerGroups(params, paramSpecs(model, seed)), { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
const step = new TrainStep(params, model, opt, 1.0);
const rng = rngFor(seed, 'step-check-tokens');
const T = model.blockSize;
const batch = () => ({
  tokens: Int32Array.from({ length: batchSize * T }, () => rng.int(model.vocabSize)),
  targets: Int32Array.from({ length: batchSize * T }, () => rng.int(model.vocabSize)),
  batchSize,
  seqLen: T,
});
const out = { mode, backend: backend.active, device: backend.device, batch: batchSize, model };
const lr = 1e-3;
if (mode === 'check') {
  out.steps = [];
  for (let i = 0; i < steps; i++) {
    const r = step.run([batch()], lr);
    out.steps.push({ loss: r.loss, gradNorm: r.gradNorm });
  }
} else if (mode === 'cpuprof') {
  // host (JS) CPU profile of --steps steps after --warmup, written to --out (a .cpuprofile)
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  for (let i = 0; i < warmup; i++) step.run([batch()], lr);
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  const t0 = performance.now();
  out.step_ms = [];
  for (let i = 0; i < steps; i++) {
    const t1 = performance.now();
    step.run([batch()], lr);
    out.step_ms.push(performance.now() - t1);
  }
  out.wall_ms = performance.now() - t0;
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(o.out ?? 'step.cpuprofile', JSON.stringify(profile));
  session.disconnect();
} else {
  for (let i = 0; i < warmup; i++) step.run([batch()], lr);
  const b = batch();
  const d0 = dispatches;
  const t0 = performance.now();
  const prof = await tf.profile(() => {
    step.run([b], lr);
  });
  out.dispatches = passProto ? dispatches - d0 : null;
  out.wall_ms = performance.now() - t0;
  const byName = new Map();
  let gpuMs = 0;
  for (const k of prof.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : (k.kernelTimeMs?.error ? 0 : Number(k.kernelTimeMs) || 0);
    gpuMs += ms;
    const e = byName.get(k.name) ?? { name: k.name, count: 0, gpu_ms: 0 };
    e.count++;
    e.gpu_ms += ms;
    byName.set(k.name, e);
  }
  // FLOPs of a matmul from its input shapes: the contracted size k is the dimension the two
  // operands share (transposes are not recorded by the profiler; k is the same either way).
  const mmFlops = (a, b) => {
    const [p, q] = a.slice(-2);
    const [r, s] = b.slice(-2);
    const batch = a.slice(0, -2).reduce((x, y) => x * y, 1);
    const k = q === r || q === s ? q : p;
    return (2 * batch * p * q * r * s) / k;
  };
  const matmul = [];
  let mmMs = 0;
  let mmF = 0;
  for (const k of prof.kernels) {
    if (k.name !== 'BatchMatMul' && k.name !== '_FusedMatMul') continue;
    const f = mmFlops(k.inputShapes[0], k.inputShapes[1]);
    const ms = Number(k.kernelTimeMs) || 0;
    mmMs += ms;
    mmF += f;
    matmul.push({ a: k.inputShapes[0], b: k.inputShapes[1], ms, gflop: f / 1e9, tflops: ms > 0 ? f / (ms / 1000) / 1e12 : null });
  }
  out.matmul_gpu_ms = mmMs;
  out.matmul_tflop = mmF / 1e12;
  out.matmul_tflops_achieved = mmMs > 0 ? mmF / (mmMs / 1000) / 1e12 : null;
  out.kernels = prof.kernels.length;
  out.kernel_gpu_ms_total = gpuMs;
  out.by_kernel = [...byName.values()].sort((x, y) => y.gpu_ms - x.gpu_ms).map((e) => ({ ...e, gpu_ms: Math.round(e.gpu_ms * 1000) / 1000 }));
  out.matmuls = matmul.sort((x, y) => y.ms - x.ms).slice(0, 12);
  out.peak_bytes = prof.peakBytes;
  out.new_tensors = prof.newTensors;
}
opt.dispose();
disposeParams(params);
shutdownBackend();
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
