// The WebGPU engine's foundation (src/engine/program/): arenas on a device, a recorded step
// program, the readback ring and what recording refuses, run in a child process on a WebGPU
// adapter: a GPU, or lavapipe on the CPU (scripts/lavapipe.sh; .ci/run sets HCPROBE_TEST_VULKAN
// to it). Without an adapter the tests are skipped and say why.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runWebgpuChild } from '../../helpers-webgpu.ts';

const { result, skip } = runWebgpuChild(fileURLToPath(new URL('./program-webgpu.child.ts', import.meta.url)));

test('arena slices on the device start at multiples of minStorageBufferOffsetAlignment', { skip }, () => {
  const align = result.align as number;
  const offsets = result.offsets as number[];
  assert.ok(align >= 4 && align % 4 === 0, `alignment ${align}`);
  // slices of 100, 100, 3 and 70 floats
  const lengths = [100, 100, 3, 70];
  offsets.forEach((o, i) => {
    assert.equal(o % align, 0, `slice ${i} at ${o}`);
    if (i > 0) assert.ok(o >= (offsets[i - 1] as number) + 4 * (lengths[i - 1] as number), `slice ${i} at ${o} overlaps the one before`);
  });
});

test('a recorded program of N dispatches reports N, runs them in order in one submit, and splits passes at copies', { skip }, () => {
  const chain = result.chain as { dispatches: number; passes: number; submits: number; x: number[] };
  assert.deepEqual(chain, { dispatches: 7, passes: 1, submits: 1, x: [7, 7] });
  // 3 increments, a copy out, 2 increments; run twice: the copy saw 3 + 2 + 3
  const split = result.split as { dispatches: number; passes: number; submits: number; copied: number[]; z: number[] };
  assert.deepEqual(split, { dispatches: 5, passes: 2, submits: 2, copied: [8, 8], z: [10, 10] });
  assert.equal(result.untouched, 0, 'a slice no dispatch bound stayed zero');
});

test('the readback ring returns each step\'s values in order, one step behind, in the step\'s own submit', { skip }, () => {
  const ring = result.ring as { seen: number[][]; submits: number; fullRing: string };
  // w[0], w[1] after steps 1…4, and x[0] (7, from the chain above) copied from a second buffer
  assert.deepEqual(ring.seen, [
    [1, 1, 7],
    [2, 2, 7],
    [3, 3, 7],
    [4, 4, 7],
  ]);
  assert.equal(ring.submits, 4, 'one submit per step, copies included');
  assert.match(ring.fullRing, /all 2 buffers are still waiting to be read/);
});

test('recording rejects overlapping bindings, misaligned offsets and copies within one buffer', { skip }, () => {
  assert.match(result.overlap as string, /bindings 0 \[0, 400\) and 2 \[0, 64\) overlap/);
  assert.match(result.misaligned as string, /starts at byte 4, not a multiple of/);
  assert.match(result.sameBuffer as string, /copy within one buffer/);
});

test('buildChecked turns what the device refuses into a ConfigError naming what was being set up', { skip }, () => {
  assert.match(result.refused as string, /^ConfigError: the WebGPU engine could not set up a test pipeline on this adapter \(.+\); use less$/);
});
