// The fused webgpu norms (src/engine/webgpu-norms.ts) against their ops' tfjs composites
// (src/engine/ops/norms.ts), forward and gradients, on a WebGPU adapter in a child process (see
// test/helpers-webgpu.ts): D below, above and not a multiple of the workgroup, rows beyond one
// chunk of the column sums, a zero row.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runWebgpuChild } from '../helpers-webgpu.ts';

const { result, skip } = runWebgpuChild(fileURLToPath(new URL('./webgpu-norms.child.ts', import.meta.url)));
type Case = { name: string; err: Record<string, number>; finite: boolean; zeroRowY?: number };

test('fused LayerNorm, gain LayerNorm and RMSNorm equal the tfjs ops, values and gradients', { skip }, () => {
  const cases = result.results as Case[];
  assert.equal(cases.length, 6);
  for (const c of cases) {
    assert.ok(c.finite, `${c.name}: non-finite values`);
    for (const [part, e] of Object.entries(c.err)) assert.ok(e < 1e-5, `${c.name}: ${part} off by ${e} (relative to its largest value)`);
  }
  const bias = cases.filter((c) => 'db' in c.err).map((c) => c.name);
  assert.deepEqual(bias, ['layer, bias, D 48', 'layer, bias, 4100 rows'], 'a bias gradient exactly where there is a bias');
});

test('RMSNorm keeps a zero row at zero with finite gradients', { skip }, () => {
  const zero = (result.results as Case[]).find((c) => c.name === 'rms, a zero row') as Case;
  assert.equal(zero.zeroRowY, 0);
  assert.ok(zero.finite);
});

test('the fused norm leaves no tensors behind', { skip }, () => {
  assert.equal(result.leaked, 0);
});
