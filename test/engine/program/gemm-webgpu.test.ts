// The WebGPU engine's fp32 GEMM (src/engine/program/gemm.ts), every variant and epilogue, against
// tfjs, run in a child process on a WebGPU adapter: a GPU, or lavapipe on the CPU
// (scripts/lavapipe.sh; .ci/run sets HCPROBE_TEST_VULKAN to it). Without an adapter the tests
// are skipped and say why.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runWebgpuChild } from '../../helpers-webgpu.ts';

const { result, skip } = runWebgpuChild(fileURLToPath(new URL('./gemm-webgpu.child.ts', import.meta.url)));

test('GEMM NN, NT, TN, TT at awkward sizes, with bias, accumulation, batches, strides, row scale, GELU and its gradient, equals tfjs to 1e-5', { skip }, () => {
  const gemm = result.gemm as Record<string, { rel: number; preRel: number; outsideChanged: number }>;
  assert.equal(Object.keys(gemm).length, 32, 'every case ran');
  for (const v of ['NN', 'NT', 'TN', 'TT']) for (const shape of ['37×53×29', '1×1×1', '130×257×65', '65×3×300']) assert.ok(`${v} ${shape}` in gemm, `${v} ${shape}`);
  for (const name of ['NT 130×257×65 + bias, GELU keeping the pre-activation', 'NN 37×53×29 · gelu′(u)', 'NN batch 2, 37×53×29, row scale + bias']) assert.ok(name in gemm, name);
  for (const [name, r] of Object.entries(gemm)) {
    assert.ok(r.rel <= 1e-5, `${name}: max |C − C_tfjs| / max |C_tfjs| = ${r.rel}`);
    assert.ok(r.preRel <= 1e-5, `${name}: the kept pre-activation is off by ${r.preRel}`);
    assert.equal(r.outsideChanged, 0, `${name}: floats of C outside the product's rows were written`);
  }
  assert.deepEqual(result.errors, [], 'the device reported no validation errors');
});

test('the GEMM\'s depth epilogue writes y and Ĥ = H\' + B⊗y equal to tfjs to 1e-5', { skip }, () => {
  const cases = result.depthGemm as Record<string, [number, number]>;
  assert.equal(Object.keys(cases).length, 3);
  for (const [name, [y, hout]] of Object.entries(cases)) {
    assert.ok(y <= 1e-5, `${name}: y off by ${y}`);
    assert.ok(hout <= 1e-5, `${name}: Ĥ off by ${hout}`);
  }
});
