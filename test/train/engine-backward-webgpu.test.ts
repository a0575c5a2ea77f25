// The WebGPU engine's recorded backward (src/train/engine-backward.ts) for the residual model
// against the tfjs model: the loss and every parameter's gradient within 1e-5 (norm-relative),
// run in a child process on a WebGPU adapter (a GPU or lavapipe); skipped without one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runWebgpuChild } from '../helpers-webgpu.ts';

const { result, skip } = runWebgpuChild(fileURLToPath(new URL('./engine-backward-webgpu.child.ts', import.meta.url)));

test('engine backward, residual: the loss and every parameter\'s gradient equal the tfjs model\'s to 1e-5, with and without biases', { skip }, () => {
  const cases = result.gradients as Record<string, { loss: number; worst: number; worstName: string; count: number }>;
  assert.equal(Object.keys(cases).length, 2, 'every case ran');
  for (const [name, r] of Object.entries(cases)) {
    // wte, wpe, ln_f and per layer two LayerNorms and four Linears; with biases, theirs too
    assert.equal(r.count, name.startsWith('bias') ? 28 : 15, `${name}: parameters`);
    assert.ok(r.loss <= 1e-6, `${name}: loss off by ${r.loss} (relative)`);
    assert.ok(r.worst <= 1e-5, `${name}: gradient of ${r.worstName} off by ${r.worst} (norm-relative)`);
  }
});
