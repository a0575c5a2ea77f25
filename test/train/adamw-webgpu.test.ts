// The fused webgpu clipping + AdamW (src/train/adamw-webgpu.ts) against a float64 oracle and
// against the unfused tfjs ops, run in a child process on a WebGPU adapter: a GPU, or lavapipe
// on the CPU (scripts/lavapipe.sh; .ci/run sets HCPROBE_TEST_VULKAN to it). Without an adapter
// the test is skipped and says why.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runWebgpuChild } from '../helpers-webgpu.ts';

const { result, skip } = runWebgpuChild(fileURLToPath(new URL('./adamw-webgpu.child.ts', import.meta.url)));
type Updates = { fusedSteps: boolean[]; paramErr: number; normErr: number; cloneUnchanged?: number };

test('fused clip + AdamW equals a float64 AdamW, clipped and not, decay and not, sizes around the strides', { skip }, () => {
  for (const key of ['clipped', 'unclipped'] as const) {
    const u = result[key] as Updates;
    assert.deepEqual(u.fusedSteps, [true, true, true], `${key}: the fused programs ran`);
    assert.ok(u.paramErr < 1e-5, `${key}: parameters off by ${u.paramErr} (relative)`);
    assert.ok(u.normErr < 1e-6, `${key}: gradient norm off by ${u.normErr} (relative)`);
  }
});

test('the unfused tfjs path meets the same oracle and the fused path agrees with it', { skip }, () => {
  const u = result.unfused as Updates;
  assert.deepEqual(u.fusedSteps, [false, false, false]);
  assert.ok(u.paramErr < 1e-5, `unfused off by ${u.paramErr}`);
  assert.ok((result.fusedVsUnfused as number) < 1e-5, `fused vs unfused: ${result.fusedVsUnfused}`);
});

test('a parameter whose buffer is shared (a clone) is not written in place', { skip }, () => {
  const u = result.shared as Updates;
  assert.equal(u.fusedSteps[0], false, 'the first step falls back to tfjs ops while the clone shares the buffer');
  assert.equal(u.cloneUnchanged, 0, 'the clone keeps the initial values');
  assert.ok(u.paramErr < 1e-5, `parameters off by ${u.paramErr}`);
});

test('TrainStep on webgpu: fused and unfused give the same losses, norms and parameters', { skip }, () => {
  const t = result.training as { fused: { fused: boolean }[]; lossErr: number; normErr: number; paramErr: number; tensorsLeftFused: number; tensorsLeftUnfused: number };
  assert.ok(t.fused.every((s) => s.fused), 'every step ran fused');
  assert.ok(t.lossErr < 1e-5, `loss differs by ${t.lossErr}`);
  assert.ok(t.normErr < 1e-5, `grad norm differs by ${t.normErr} (relative)`);
  // Adam divides by sqrt(v): where a gradient is ~0, float32 noise in it moves the update by up
  // to lr, so after 4 steps parameters agree less tightly than losses (measured 3e-4).
  assert.ok(t.paramErr < 2e-3, `parameters differ by ${t.paramErr}`);
  assert.equal(t.tensorsLeftFused, t.tensorsLeftUnfused, 'no tensors leak on the fused path');
});
