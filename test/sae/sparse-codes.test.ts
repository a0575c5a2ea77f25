// The activation functions as sparse codes: TopK against a full sort, BatchTopK's shared
// budget, thresholds, and the quickselect behind BatchTopK.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rngFor } from '../../src/engine/random.ts';
import { concatCodes } from '../../sae/apply.ts';
import { batchTopkCodes, nnz, selectKthLargest, thresholdCodes, topkCodes } from '../../sae/sparse-codes.ts';

const rng = rngFor(1, 'codes');
const rows = 7;
const m = 50;
const pre = Float32Array.from({ length: rows * m }, () => rng.normal());

test('topk keeps the k largest positive pre-activations of each row', () => {
  const c = topkCodes(pre, rows, m, 6);
  for (let b = 0; b < rows; b++) {
    const row = Array.from(pre.subarray(b * m, (b + 1) * m), (v, i) => ({ v, i }));
    const want = row.filter((e) => e.v > 0).sort((x, y) => y.v - x.v).slice(0, 6).map((e) => e.i).sort((x, y) => x - y);
    const got = Array.from(c.idx.subarray(c.rowPtr[b], c.rowPtr[b + 1])).sort((x, y) => x - y);
    assert.deepEqual(got, want);
    for (let q = c.rowPtr[b] as number; q < (c.rowPtr[b + 1] as number); q++) assert.equal(c.val[q], pre[b * m + (c.idx[q] as number)]);
  }
});

test('topk among a subset (AuxK) chooses only from it; all-negative rows give no codes', () => {
  const among = Int32Array.from([3, 9, 27, 44]);
  const c = topkCodes(pre, rows, m, 2, among);
  for (const i of c.idx.subarray(0, nnz(c))) assert.ok(among.includes(i));
  const neg = new Float32Array(2 * m).fill(-1);
  assert.equal(nnz(topkCodes(neg, 2, m, 5)), 0);
});

test('batchtopk spends rows·k over the whole batch and reports the smallest kept value', () => {
  const k = 4;
  const { codes, minKept } = batchTopkCodes(pre, rows, m, k);
  assert.equal(nnz(codes), rows * k);
  const sorted = Array.from(pre).sort((a, b) => b - a);
  assert.equal(minKept, Math.fround(sorted[rows * k - 1] as number));
  for (const v of codes.val.subarray(0, nnz(codes))) assert.ok(v >= minKept);
  const perRow = Array.from({ length: rows }, (_, b) => (codes.rowPtr[b + 1] as number) - (codes.rowPtr[b] as number));
  assert.ok(new Set(perRow).size > 1, 'rows differ in how many latents they get');
});

test('a threshold keeps exactly the values above it; ReLU is θ = 0', () => {
  const c = thresholdCodes(pre, rows, m, 0.5);
  assert.equal(nnz(c), Array.from(pre).filter((v) => v > 0.5).length);
  assert.equal(nnz(thresholdCodes(pre, rows, m, 0)), Array.from(pre).filter((v) => v > 0).length);
});

test('quickselect finds the k-th largest, duplicates included', () => {
  for (const k of [1, 2, 17, 100]) {
    const a = Float32Array.from({ length: 100 }, () => Math.round(rng.normal() * 3));
    const want = Array.from(a).sort((x, y) => y - x)[k - 1];
    assert.equal(selectKthLargest(a, k), want);
  }
});

test('concatenated codes equal codes of the concatenated rows', () => {
  const whole = topkCodes(pre, rows, m, 3);
  const parts = concatCodes([topkCodes(pre.subarray(0, 3 * m), 3, m, 3), topkCodes(pre.subarray(3 * m), rows - 3, m, 3)]);
  assert.deepEqual(parts, whole);
});
