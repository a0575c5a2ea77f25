// The WebGPU engine's foundation (src/engine/program/): arenas on a device, a recorded step
// program and the fp32 GEMM against tfjs matMul, run in a child process on a WebGPU adapter: a
// GPU, or lavapipe on the CPU (scripts/lavapipe.sh; .ci/run sets HCPROBE_TEST_VULKAN to it).
// Without an adapter the tests are skipped and say why.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runWebgpuChild } from '../../helpers-webgpu.ts';

const { result, skip } = runWebgpuChild(fileURLToPath(new URL('./program-webgpu.child.ts', import.meta.url)));

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

test('width connection: x, H\', dH and dalpha equal alphaᵀ·H through tfjs matMul and tf.grads to 1e-5', { skip }, () => {
  const width = result.width as Record<string, Record<string, number>>;
  assert.equal(Object.keys(width).length, 5, 'every case ran');
  for (const [name, errs] of Object.entries(width)) {
    assert.deepEqual(Object.keys(errs), ['x', 'hm', 'dh', 'dalpha'], name);
    for (const [out, e] of Object.entries(errs)) assert.ok(e <= 1e-5, `${name}: ${out} off by ${e} (norm-relative)`);
  }
});

test('cross-entropy: per-row losses, their mean and the in-place gradient equal model/transformer.ts\' crossEntropy and tf.grads to 1e-5', { skip }, () => {
  const cases = result.crossEntropy as Record<string, { losses: number; mean: number; grad: number }>;
  assert.equal(Object.keys(cases).length, 4, 'every case ran');
  for (const [name, r] of Object.entries(cases)) for (const [what, e] of Object.entries(r)) assert.ok(e <= 1e-5, `${name}: ${what} off by ${e}`);
});

test('causal attention (online softmax): o and dqkv equal model/branches.ts\' ops and tf.grads to 1e-5', { skip }, () => {
  const attention = result.attention as Record<string, Record<string, number>>;
  assert.equal(Object.keys(attention).length, 4, 'every case ran');
  for (const [name, errs] of Object.entries(attention)) {
    assert.deepEqual(Object.keys(errs), ['o', 'dqkv'], name);
    for (const [out, e] of Object.entries(errs)) assert.ok(e <= 1e-5, `${name}: ${out} off by ${e} (norm-relative)`);
  }
});

test('the GEMM\'s depth epilogue writes y and Ĥ = H\' + B⊗y equal to tfjs to 1e-5', { skip }, () => {
  const cases = result.depthGemm as Record<string, [number, number]>;
  assert.equal(Object.keys(cases).length, 3);
  for (const [name, [y, hout]] of Object.entries(cases)) {
    assert.ok(y <= 1e-5, `${name}: y off by ${y}`);
    assert.ok(hout <= 1e-5, `${name}: Ĥ off by ${hout}`);
  }
});

test('depth connection: Ĥ, dy and dB equal H\' + B⊗y through tfjs ops and tf.grads to 1e-5', { skip }, () => {
  const depth = result.depth as Record<string, Record<string, number>>;
  assert.equal(Object.keys(depth).length, 4, 'every case ran');
  for (const [name, errs] of Object.entries(depth)) {
    assert.deepEqual(Object.keys(errs), ['out', 'dy', 'db'], name);
    for (const [out, e] of Object.entries(errs)) assert.ok(e <= 1e-5, `${name}: ${out} off by ${e} (norm-relative)`);
  }
});

test('layer, gain and rms norms: forward, dx, dw and db equal model/norms.ts and tf.grads to 1e-5', { skip }, () => {
  const norms = result.norms as Record<string, Record<string, number>>;
  assert.equal(Object.keys(norms).length, 7, 'every case ran');
  for (const [name, errs] of Object.entries(norms)) {
    assert.deepEqual(Object.keys(errs), name.includes('no bias') || !name.startsWith('layer') ? ['y', 'dx', 'dw'] : ['y', 'dx', 'dw', 'db'], name);
    for (const [out, e] of Object.entries(errs)) assert.ok(e <= 1e-5, `${name}: ${out} off by ${e} (norm-relative)`);
  }
});

test('column sums (one dispatch, or chunks then a final sum) equal tf.sum over rows to 1e-5', { skip }, () => {
  const sums = result.columnSums as Record<string, { rel: number; dispatches: number }>;
  assert.deepEqual(
    Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v.dispatches])),
    { '1×1': 1, '37×65': 1, '1000×300, default chunks': 2, '513×64, ld 70, 4 chunks, accumulate': 2, '300×1, 2 chunks': 2, '130×129, accumulate': 1 },
  );
  for (const [name, r] of Object.entries(sums)) assert.ok(r.rel <= 1e-5, `${name}: off by ${r.rel}`);
});

test('arena slices on the device start at multiples of minStorageBufferOffsetAlignment', { skip }, () => {
  const align = result.align as number;
  const offsets = result.offsets as number[];
  assert.ok(align >= 4 && align % 4 === 0, `alignment ${align}`);
  // slices of 100, 100, 3 and 70 floats
  const lengths = [100, 100, 3, 70];
  offsets.forEach((o, i) => {
    assert.equal(o % align, 0, `slice ${i} at ${o}`);
    if (i > 0) assert.ok(o >= (offsets[i - 1] as number) + 4 * (lengths[i - 1] as number), `slice ${i} at ${o} overlaps the one before`);
  });
});

test('a recorded program of N dispatches reports N, runs them in order in one submit, and splits passes at copies', { skip }, () => {
  const chain = result.chain as { dispatches: number; passes: number; submits: number; x: number[] };
  assert.deepEqual(chain, { dispatches: 7, passes: 1, submits: 1, x: [7, 7] });
  // 3 increments, a copy out, 2 increments; run twice: the copy saw 3 + 2 + 3
  const split = result.split as { dispatches: number; passes: number; submits: number; copied: number[]; z: number[] };
  assert.deepEqual(split, { dispatches: 5, passes: 2, submits: 2, copied: [8, 8], z: [10, 10] });
  assert.equal(result.untouched, 0, 'a slice no dispatch bound stayed zero');
});

test('the readback ring returns each step\'s values in order, one step behind, in the step\'s own submit', { skip }, () => {
  const ring = result.ring as { seen: number[][]; submits: number; fullRing: string };
  // w[0], w[1] after steps 1…4, and x[0] (7, from the chain above) copied from a second buffer
  assert.deepEqual(ring.seen, [
    [1, 1, 7],
    [2, 2, 7],
    [3, 3, 7],
    [4, 4, 7],
  ]);
  assert.equal(ring.submits, 4, 'one submit per step, copies included');
  assert.match(ring.fullRing, /all 2 buffers are still waiting to be read/);
});

test('recording rejects overlapping bindings, misaligned offsets and copies within one buffer', { skip }, () => {
  assert.match(result.overlap as string, /bindings 0 \[0, 400\) and 2 \[0, 64\) overlap/);
  assert.match(result.misaligned as string, /starts at byte 4, not a multiple of/);
  assert.match(result.sameBuffer as string, /copy within one buffer/);
});
