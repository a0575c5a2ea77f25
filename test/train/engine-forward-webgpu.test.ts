// The WebGPU engine's recorded forward (src/train/engine-forward.ts) against the tfjs model's
// forward for residual, hc, mhc and mhc-lite: logits within 1e-5 (norm-relative), run in a child
// process on a WebGPU adapter (a GPU or lavapipe, as the other *-webgpu tests); skipped without one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runWebgpuChild } from '../helpers-webgpu.ts';

const { result, skip } = runWebgpuChild(fileURLToPath(new URL('./engine-forward-webgpu.child.ts', import.meta.url)));

test('engine forward: the logits equal the tfjs model\'s forward to 1e-5 for residual, hc (static, dynamic), mhc and mhc-lite across stream inits', { skip }, () => {
  const cases = result.logits as Record<string, { rel: number; dispatches: number }>;
  assert.equal(Object.keys(cases).length, 9, 'every case ran');
  for (const [name, r] of Object.entries(cases)) {
    assert.ok(r.rel <= 1e-5, `${name}: logits off by ${r.rel} (norm-relative)`);
    // embed; per layer 2 norms, 4 GEMMs and attention, and per HC module the coefficient kernel
    // and the width connection (dynamic: also the norm, packing [W_α | W_β] and the projection
    // GEMM); then ln_f, the sum over streams and the logits GEMM
    const perModule = name.startsWith('residual') ? 0 : name.startsWith('hc static') ? 2 : 5;
    assert.equal(r.dispatches, 1 + 2 * (7 + 2 * perModule) + 3, `${name}: dispatches`);
  }
});

test('engine forward: every hook site it keeps (resid, branch in/out, read, mixing, write, ln_final) equals runWithCache; the others are left to tfjs', { skip }, () => {
  const cases = result.logits as Record<string, { hooks: Record<string, number>; uncoveredIsUndefined: boolean }>;
  for (const [name, r] of Object.entries(cases)) {
    assert.ok(Object.keys(r.hooks).length >= 9, `${name}: sites compared`);
    for (const [site, e] of Object.entries(r.hooks)) assert.ok(e <= 1e-5, `${name}: ${site} off by ${e} (norm-relative; NaN: not returned)`);
    assert.ok(r.uncoveredIsUndefined, `${name}: hook_embed, which the forward does not keep, must come back undefined`);
  }
});
