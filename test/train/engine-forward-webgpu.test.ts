// The WebGPU engine's recorded forward (src/train/engine-forward.ts) against the tfjs model's
// forward: logits within 1e-5 (norm-relative), run in a child process on a WebGPU adapter (a GPU
// or lavapipe, as the other *-webgpu tests); skipped without one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runWebgpuChild } from '../helpers-webgpu.ts';

const { result, skip } = runWebgpuChild(fileURLToPath(new URL('./engine-forward-webgpu.child.ts', import.meta.url)));

test('engine forward, residual: the logits equal the tfjs model\'s forward to 1e-5, with and without biases', { skip }, () => {
  const cases = result.logits as Record<string, { rel: number; dispatches: number }>;
  assert.equal(Object.keys(cases).length, 3, 'every case ran');
  for (const [name, r] of Object.entries(cases)) {
    assert.ok(r.rel <= 1e-5, `${name}: logits off by ${r.rel} (norm-relative)`);
    // embed, then per layer 2 norms, 4 GEMMs and attention, then ln_f and the logits GEMM
    assert.equal(r.dispatches, 1 + 2 * 7 + 2, `${name}: dispatches`);
  }
});
