// The WebGPU engine's kernels with their backward (src/engine/program/: column sums, norms, width
// and depth connections, attention, cross-entropy) against the model's tfjs ops and tf.grads,
// run in a child process on a WebGPU adapter: a GPU, or lavapipe on the CPU (scripts/lavapipe.sh;
// .ci/run sets HCPROBE_TEST_VULKAN to it). Without an adapter the tests are skipped and say why.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runWebgpuChild } from '../../helpers-webgpu.ts';

const { result, skip } = runWebgpuChild(fileURLToPath(new URL('./kernels-webgpu.child.ts', import.meta.url)));

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

test('depth connection: Ĥ, dy and dB equal H\' + B⊗y through tfjs ops and tf.grads to 1e-5', { skip }, () => {
  const depth = result.depth as Record<string, Record<string, number>>;
  assert.equal(Object.keys(depth).length, 4, 'every case ran');
  for (const [name, errs] of Object.entries(depth)) {
    assert.deepEqual(Object.keys(errs), ['out', 'dy', 'db'], name);
    for (const [out, e] of Object.entries(errs)) assert.ok(e <= 1e-5, `${name}: ${out} off by ${e} (norm-relative)`);
  }
});

test('embedding + stream expansion: H⁰, dwte (added to), dwpe and dλ/de equal expandStreams over tf.gather and tf.grads to 1e-5', { skip }, () => {
  const embedding = result.embedding as Record<string, Record<string, number>>;
  assert.equal(Object.keys(embedding).length, 5, 'every case ran');
  for (const [name, errs] of Object.entries(embedding)) {
    const grads = name.startsWith('lss') || name.startsWith('stream-embed');
    assert.deepEqual(Object.keys(errs), ['out', 'dwte', 'dwpe', ...(grads ? ['dstreams'] : [])], name);
    for (const [out, e] of Object.entries(errs)) assert.ok(e <= 1e-5, `${name}: ${out} off by ${e} (norm-relative)`);
  }
});

test('hc coefficients (static and dynamic): α, β and the gradients of the projection, α₀, β₀ and the two scales equal hc.ts\' formulas and tf.grads to 1e-5', { skip }, () => {
  const cases = result.hcCoefficients as Record<string, Record<string, number>>;
  assert.equal(Object.keys(cases).length, 4, 'every case ran');
  for (const [name, errs] of Object.entries(cases)) {
    assert.deepEqual(Object.keys(errs), ['alpha', 'beta', 'da0', 'db0', ...(name.startsWith('dynamic') ? ['dproj', 'dsa', 'dsb'] : [])], name);
    for (const [out, e] of Object.entries(errs)) assert.ok(e <= 1e-5, `${name}: ${out} off by ${e} (norm-relative)`);
  }
});

test('mHC-lite coefficients: alpha, write, dproj and the five small parameters\' gradients equal the op\'s composite and tf.grads to 1e-5', { skip }, () => {
  const cases = result.mhcLite as Record<string, Record<string, number>>;
  assert.equal(Object.keys(cases).length, 4, 'every case ran');
  for (const [name, errs] of Object.entries(cases)) {
    assert.deepEqual(Object.keys(errs), ['alpha', 'beta', 'dproj', 'dpreBranchScale', 'dresidualScale', 'dhPostScale', 'dstaticAlpha', 'dstaticBeta'], name);
    for (const [out, e] of Object.entries(errs)) assert.ok(e <= 1e-5, `${name}: ${out} off by ${e} (norm-relative)`);
  }
});

test('mHC coefficients with Sinkhorn: alpha, write, dproj and the five small parameters\' gradients equal mhc.ts\' formulas and tf.grads to 1e-5', { skip }, () => {
  const cases = result.mhc as Record<string, Record<string, number>>;
  assert.equal(Object.keys(cases).length, 4, 'every case ran');
  for (const [name, errs] of Object.entries(cases)) {
    assert.deepEqual(Object.keys(errs), ['alpha', 'beta', 'dproj', 'dpreBranchScale', 'dresidualScale', 'dhPostScale', 'dstaticAlpha', 'dstaticBeta'], name);
    for (const [out, e] of Object.entries(errs)) assert.ok(e <= 1e-5, `${name}: ${out} off by ${e} (norm-relative)`);
  }
});

test('the readout\'s sum over streams: x_f and dY (written or added) equal readout.ts\' reduceTerms and tf.grads to 1e-5', { skip }, () => {
  const cases = result.streamSum as Record<string, Record<string, number>>;
  assert.equal(Object.keys(cases).length, 3, 'every case ran');
  for (const [name, errs] of Object.entries(cases)) {
    assert.deepEqual(Object.keys(errs), ['xf', 'dy'], name);
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

test('clipping + AdamW over four arenas in three dispatches (more when split into binding ranges) equals a float64 AdamW, clipped and not', { skip }, () => {
  const adamw = result.adamw as Record<string, { paramErr: number; normErr: number; dispatches: number; clipped: boolean }>;
  assert.equal(adamw.clipped?.clipped, true, 'the clipped case clips');
  assert.equal(adamw.unclipped?.clipped, false);
  assert.equal(adamw['clipped, split into ranges']?.clipped, true);
  assert.equal(adamw['clipped, split into ranges']?.dispatches, 2 * 14 + 1, 'Σg² and the update per range, one norm');
  for (const [name, r] of Object.entries(adamw)) {
    if (!name.includes('split')) assert.equal(r.dispatches, 3, name);
    assert.ok(r.paramErr < 1e-5, `${name}: parameters off by ${r.paramErr} (relative, floor 0.01)`);
    assert.ok(r.normErr < 1e-6, `${name}: gradient norm off by ${r.normErr} (relative)`);
  }
});
