// The WebGPU engine's recorded backward (src/train/engine-backward.ts) for residual, hc, mhc and
// mhc-lite against the tfjs model: the loss and every parameter's gradient within 1e-5 (norm-relative),
// run in a child process on a WebGPU adapter (a GPU or lavapipe); skipped without one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runWebgpuChild } from '../helpers-webgpu.ts';

const { result, skip } = runWebgpuChild(fileURLToPath(new URL('./engine-backward-webgpu.child.ts', import.meta.url)));

test('engine backward: the loss and every parameter\'s gradient equal the tfjs model\'s to 1e-5 for residual, hc (static, dynamic), mhc and mhc-lite across stream inits', { skip }, () => {
  const cases = result.gradients as Record<string, { loss: number; worst: number; worstName: string; count: number }>;
  assert.equal(Object.keys(cases).length, 8, 'every case ran');
  for (const [name, r] of Object.entries(cases)) {
    // residual: wte, wpe, ln_f and per layer two LayerNorms and four Linears (with biases, theirs too)
    if (name.startsWith('residual')) assert.equal(r.count, name.includes('bias') ? 28 : 15, `${name}: parameters`);
    assert.ok(r.loss <= 1e-6, `${name}: loss off by ${r.loss} (relative)`);
    assert.ok(r.worst <= 1e-5, `${name}: gradient of ${r.worstName} off by ${r.worst} (norm-relative)`);
  }
});
