// Four training steps on the WebGPU engine (src/train/engine-step.ts) against train/step.ts'
// TrainStep on the cpu backend from the same parameters and batches, for every connection kind and
// stream init the engine covers, one case with two micro-batches per update; then its validation
// loss and a resume from its own state. Run in a child process on a WebGPU adapter (a GPU or
// lavapipe); skipped without one, failed without one when HCPROBE_TEST_VULKAN is set (CI).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runWebgpuChild } from '../helpers-webgpu.ts';

const { result, skip } = runWebgpuChild(fileURLToPath(new URL('./engine-step-webgpu.child.ts', import.meta.url)));

interface StepCase {
  loss: number[];
  gradNorm: number[];
  live: Record<string, number>;
  deadInLr: Record<string, number>;
  deadCount: number;
  valLoss: number;
  resume: { loss: number; gradNorm: number; params: number };
  dispatches: number;
  maxBindings: number;
}
const cases = (result.steps ?? {}) as Record<string, StepCase>;

test('engine training step: losses, gradient norms and parameters follow TrainStep over four steps', { skip }, () => {
  assert.deepEqual(result.errors, [], 'no WebGPU validation errors');
  assert.equal(Object.keys(cases).length, 9, 'every case ran');
  for (const [name, r] of Object.entries(cases)) {
    assert.equal(r.loss.length, 4, `${name}: four steps`);
    // WebGPU's default per-stage limit, all Dawn's null backend offers (lavapipe allows 16)
    assert.ok(r.maxBindings <= 8, `${name}: a dispatch binds ${r.maxBindings} storage buffers`);
    r.loss.forEach((e, k) => assert.ok(e <= 1e-5, `${name}: step ${k + 1} loss off by ${e} (relative)`));
    r.gradNorm.forEach((e, k) => assert.ok(e <= 1e-5, `${name}: step ${k + 1} gradient norm off by ${e} (relative)`));
    // ‖Δ‖/‖p‖ per tensor over the elements whose gradient is above float noise; the others (exact
    // zeros such as the key bias) may move by up to lr per step either way, as Adam moves any noise
    for (const [p, e] of Object.entries(r.live)) assert.ok(e <= 1e-5, `${name}: ${p} off by ${e} (‖Δ‖/‖p‖ after four steps)`);
    for (const [p, w] of Object.entries(r.deadInLr)) assert.ok(w <= 4, `${name}: ${p} has a noise-gradient element ${w} lr away`);
  }
});

test('engine: validation loss matches the tfjs loss, and a resume from the state continues bit for bit', { skip }, () => {
  for (const [name, r] of Object.entries(cases)) {
    assert.ok(r.valLoss <= 1e-5, `${name}: validation loss off by ${r.valLoss}`);
    assert.deepEqual(r.resume, { loss: 0, gradNorm: 0, params: 0 }, `${name}: the resumed engine's step 4 differs from the uninterrupted one`);
  }
});
