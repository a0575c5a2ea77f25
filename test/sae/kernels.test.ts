// The sparse decode and backward: the WebAssembly SIMD kernels and the scalar loops agree,
// and both agree with a dense computation of the same products.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rngFor } from '../../src/engine/random.ts';
import { simdKernels, useSimd } from '../../sae/simd-kernels.ts';
import { topkCodes } from '../../sae/sparse-codes.ts';
import { backwardSparse, decodeSparse, encoderBiasGrad } from '../../sae/sparse-kernels.ts';

const rng = rngFor(4, 'kernels');
const [d, m, k, rows] = [24, 40, 5, 30];
const r = () => rng.normal();
const codes = topkCodes(Float32Array.from({ length: rows * m }, r), rows, m, k);
const W = Float32Array.from({ length: m * d }, r);
const bias = Float32Array.from({ length: d }, r);
const g = Float32Array.from({ length: rows * d }, r);
const xc = Float32Array.from({ length: rows * d }, r);

function run() {
  const xhat = decodeSparse(codes, W, d, bias, new Float32Array(rows * d));
  const grads = { wDec: new Float32Array(m * d).fill(0.5), wEncT: new Float32Array(m * d), bEnc: new Float32Array(m) };
  backwardSparse(codes, g, xc, W, d, grads);
  const bDec = new Float32Array(d);
  encoderBiasGrad(grads.bEnc, W, d, bDec);
  return { xhat, ...grads, bDec };
}

/** The same quantities from the dense code matrix F [rows, m]. */
function dense() {
  const F = new Float64Array(rows * m);
  for (let b = 0; b < rows; b++) for (let q = codes.rowPtr[b] as number; q < (codes.rowPtr[b + 1] as number); q++) F[b * m + (codes.idx[q] as number)] = codes.val[q] as number;
  const xhat = new Float64Array(rows * d);
  const delta = new Float64Array(rows * m);
  for (let b = 0; b < rows; b++) {
    for (let t = 0; t < d; t++) {
      let s = bias[t] as number;
      for (let i = 0; i < m; i++) s += (F[b * m + i] as number) * (W[i * d + t] as number);
      xhat[b * d + t] = s;
    }
    for (let i = 0; i < m; i++) {
      if (F[b * m + i] === 0) continue;
      let s = 0;
      for (let t = 0; t < d; t++) s += (g[b * d + t] as number) * (W[i * d + t] as number);
      delta[b * m + i] = s;
    }
  }
  const wDec = new Float64Array(m * d).fill(0.5);
  const wEncT = new Float64Array(m * d);
  const bEnc = new Float64Array(m);
  for (let i = 0; i < m; i++) for (let b = 0; b < rows; b++) {
    bEnc[i] = (bEnc[i] as number) + (delta[b * m + i] as number);
    for (let t = 0; t < d; t++) {
      wDec[i * d + t] = (wDec[i * d + t] as number) + (F[b * m + i] as number) * (g[b * d + t] as number);
      wEncT[i * d + t] = (wEncT[i * d + t] as number) + (delta[b * m + i] as number) * (xc[b * d + t] as number);
    }
  }
  const bDec = new Float64Array(d);
  for (let i = 0; i < m; i++) for (let t = 0; t < d; t++) bDec[t] = (bDec[t] as number) - (bEnc[i] as number) * (W[i * d + t] as number);
  return { xhat, wDec, wEncT, bEnc, bDec };
}

function close(name: string, a: ArrayLike<number>, b: ArrayLike<number>): void {
  assert.equal(a.length, b.length, name);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs((a[i] as number) - (b[i] as number)) < 1e-4 * (1 + Math.abs(b[i] as number)), `${name}[${i}]: ${a[i]} vs ${b[i]}`);
}

test('SIMD kernels, scalar loops and the dense products agree', () => {
  assert.ok(simdKernels(), 'WebAssembly SIMD is available in Node ≥ 20');
  const simd = run();
  useSimd(false);
  const scalar = run();
  useSimd(true);
  const want = dense();
  for (const key of ['xhat', 'wDec', 'wEncT', 'bEnc', 'bDec'] as const) {
    close(`simd ${key}`, simd[key], want[key]);
    close(`scalar ${key}`, scalar[key], want[key]);
  }
});
