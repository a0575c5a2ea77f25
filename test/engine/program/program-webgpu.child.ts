// Run by program-webgpu.test.ts in a child process (Dawn reads its Vulkan environment at start):
// arenas on a device, a recorded StepProgram (dispatch order and count, passes split by copies,
// one submit), the readback ring, and what recording refuses. Prints one JSON object;
// {"skip": reason} without an adapter.
import { buildChecked } from '../../../src/engine/program/engine-device.ts';
import { GpuArena } from '../../../src/engine/program/gpu-arena.ts';
import { ReadbackRing } from '../../../src/engine/program/readback-ring.ts';
import { recordGemm } from '../../../src/engine/program/gemm.ts';
import { cachedPipeline, StepProgram } from '../../../src/engine/program/step-program.ts';
import { startChild } from './child-device.ts';

const { device, finish } = await startChild('engine-program');

// The program: N dispatches of "x += 1" on one slice run in order in one submit; a copy splits the pass.
const INC = `
@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x < arrayLength(&x)) { x[gid.x] = x[gid.x] + 1.0; }
}`;
const arena = new GpuArena(device, 'counter', [
  { name: 'x', length: 100 },
  { name: 'y', length: 100 },
  { name: 'pad', length: 3 },
  { name: 'z', length: 70 },
]);
const inc = cachedPipeline(device, 'test.inc', () => INC);
const chain = new StepProgram(device);
for (let i = 0; i < 7; i++) chain.dispatch(`inc ${i}`, inc, [arena.binding('x')], [2]);
chain.run();
const split = new StepProgram(device);
for (let i = 0; i < 3; i++) split.dispatch(`inc z ${i}`, inc, [arena.binding('z')], [2]);
const outArena = new GpuArena(device, 'copied out', [{ name: 'z', length: 70 }]);
split.copy('z → out', arena.binding('z'), outArena.binding('z'));
for (let i = 0; i < 2; i++) split.dispatch(`inc z again ${i}`, inc, [arena.binding('z')], [2]);
split.run();
split.run();
const [x, y, z] = (await arena.read(['x', 'y', 'z'])) as [Float32Array, Float32Array, Float32Array];
const [copied] = (await outArena.read(['z'])) as [Float32Array];
const sameBuffer = (() => {
  try {
    new StepProgram(device).copy('z → y', arena.binding('z'), { buffer: arena.buffer, offset: arena.slice('y').offset, size: 4 * 70 });
    return 'no error';
  } catch (e) {
    return (e as Error).message;
  }
})();
const overlap = (() => {
  const p = new StepProgram(device);
  try {
    recordGemm(p, 'aliased', { transA: false, transB: false, M: 4, N: 4, K: 4 }, { a: arena.binding('x'), b: arena.binding('y'), c: { buffer: arena.buffer, offset: 0, size: 64 } });
    return 'no error';
  } catch (e) {
    return (e as Error).message;
  }
})();
const misaligned = (() => {
  const p = new StepProgram(device);
  try {
    p.dispatch('misaligned', inc, [{ buffer: arena.buffer, offset: 4, size: 16 }], [1]);
    return 'no error';
  } catch (e) {
    return (e as Error).message;
  }
})();
// The readback ring: each step increments `w` (4 floats) and copies w[0..1] and x[0] out in the
// same submit; step t's values are awaited after step t+1 is submitted.
const ringArena = new GpuArena(device, 'ring', [{ name: 'w', length: 4 }]);
const ringProgram = new StepProgram(device);
ringProgram.dispatch('inc w', inc, [ringArena.binding('w')], [1]);
const ring = new ReadbackRing(device, [{ buffer: ringArena.buffer, offset: 0, size: 8 }, { buffer: arena.buffer, offset: 0, size: 4 }]);
const seen: number[][] = [];
let pending: Promise<Float32Array> | undefined;
for (let step = 0; step < 4; step++) {
  ringProgram.run((enc) => ring.encode(enc));
  const now = ring.collect();
  if (pending) seen.push([...(await pending)]);
  pending = now;
}
seen.push([...(await (pending as Promise<Float32Array>))]);
ring.destroy();
// a third step's copies while both buffers of a depth-2 ring wait to be read
const unread = new ReadbackRing(device, [{ buffer: ringArena.buffer, offset: 0, size: 8 }]);
unread.encode(device.createCommandEncoder());
unread.encode(device.createCommandEncoder());
let fullRing = 'no error';
try {
  unread.encode(device.createCommandEncoder());
} catch (e) {
  fullRing = (e as Error).message;
}
unread.destroy();
ringArena.destroy();
// a pipeline the device refuses (WGSL that does not compile): caught by buildChecked's error scopes
let refused = 'no error';
try {
  await buildChecked(device, 'a test pipeline', 'use less', () => {
    device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: 'fn main( {' }), entryPoint: 'main' } });
    return { destroy: () => {} };
  });
} catch (e) {
  refused = `${(e as Error).name}: ${(e as Error).message}`;
}
const results = {
  align: device.limits.minStorageBufferOffsetAlignment,
  offsets: arena.layout.slices.map((s) => s.offset),
  chain: { dispatches: chain.dispatchCount, passes: chain.passCount, submits: chain.submitCount, x: [Math.min(...x), Math.max(...x)] },
  split: { dispatches: split.dispatchCount, passes: split.passCount, submits: split.submitCount, copied: [Math.min(...copied), Math.max(...copied)], z: [Math.min(...z), Math.max(...z)] },
  untouched: Math.max(...y.map(Math.abs)),
  ring: { seen, submits: ringProgram.submitCount, fullRing },
  sameBuffer,
  overlap,
  misaligned,
  refused,
};
arena.destroy();
outArena.destroy();
await finish(results);
