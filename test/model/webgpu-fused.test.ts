// The fused mHC-lite coefficients (src/engine/webgpu-mhc-lite.ts) against the op's tfjs
// composite, reference parity of every fixture on webgpu with the fused programs on and off, and
// no tensors added by forwards after the first; run on a WebGPU adapter in a child process (see
// test/helpers-webgpu.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runWebgpuChild } from '../helpers-webgpu.ts';

const { result, skip } = runWebgpuChild(fileURLToPath(new URL('./webgpu-fused.child.ts', import.meta.url)));

test('fused mHC-lite coefficients equal the tfjs ops for n = 2, 3, 4: values and every gradient', { skip }, () => {
  const cases = result.coefficients as { n: number; err: Record<string, number>; leaked: number }[];
  assert.deepEqual(cases.map((c) => c.n), [2, 3, 4]);
  for (const c of cases) {
    // alpha, write, dH and the gradients of all eight coefficient parameters
    assert.equal(Object.keys(c.err).length, 11, `n=${c.n}: ${Object.keys(c.err).join(', ')}`);
    for (const [k, e] of Object.entries(c.err)) assert.ok(e < 1e-5, `n=${c.n}: ${k} off by ${e} (relative to its largest value)`);
    assert.equal(c.leaked, 0, `n=${c.n}: tensors left behind`);
  }
});

test('webgpu reproduces the reference logits of every fixture with the fused programs on and off', { skip }, () => {
  const rows = result.parity as { name: string; fused: boolean; maxAbsLogit: number; lossErr: number }[];
  assert.equal(rows.length, 14);
  for (const r of rows) {
    assert.ok(r.maxAbsLogit < 1e-4, `${r.name} (fused ${r.fused}): max |Δlogit| ${r.maxAbsLogit}`);
    assert.ok(r.lossErr < 1e-4, `${r.name} (fused ${r.fused}): |Δloss| ${r.lossErr}`);
  }
});

test('on webgpu, forwards and backwards after the first add no tensors, fused or not', { skip }, () => {
  const runs = result.repeated as { fused: boolean; counts: number[] }[];
  assert.deepEqual(runs.map((r) => r.fused), [false, true]);
  for (const r of runs) assert.deepEqual(r.counts, Array(3).fill(r.counts[0]), `fused ${r.fused}: numTensors after each pass`);
});
