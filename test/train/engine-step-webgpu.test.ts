// Three training steps on the WebGPU engine (src/train/engine-step.ts) against train/step.ts'
// TrainStep on the cpu backend from the same parameters and batches, run in a child process on a
// WebGPU adapter (a GPU or lavapipe); skipped without one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runWebgpuChild } from '../helpers-webgpu.ts';

const { result, skip } = runWebgpuChild(fileURLToPath(new URL('./engine-step-webgpu.child.ts', import.meta.url)));

test('engine training step: losses, gradient norms and parameters follow TrainStep over three steps', { skip }, () => {
  const cases = result.steps as Record<string, { loss: number[]; gradNorm: number[]; params: number[]; worstInLr: number[] }>;
  assert.equal(Object.keys(cases).length, 4, 'every case ran');
  for (const [name, r] of Object.entries(cases)) {
    r.loss.forEach((e, k) => assert.ok(e <= 1e-6, `${name}: step ${k + 1} loss off by ${e} (relative)`));
    r.gradNorm.forEach((e, k) => assert.ok(e <= 1e-5, `${name}: step ${k + 1} gradient norm off by ${e} (relative)`));
    // Parameters, as ‖Δ‖₂/‖p‖₂ after steps 1 and 3. Adam moves an element by about lr whatever its
    // gradient's size, so where the exact gradient is zero (the copy-init runs: the first mHC-lite
    // module's mixing, some biases) float noise of either sign moves it by up to lr on either
    // side: there only the bound holds. Where no gradient vanishes, the two agree closely.
    const exact = name.startsWith('hc') || name.startsWith('mhc,');
    r.params.forEach((e, i) => assert.ok(e <= (exact ? 1e-6 : 1e-3), `${name}: parameters after step ${i === 0 ? 1 : 3} off by ${e} (‖Δ‖/‖p‖)`));
    r.worstInLr.forEach((w, i) => assert.ok(w <= (i === 0 ? 1 : 3), `${name}: an element moved ${w} lr away`));
  }
});
