// The seeded generator behind initial weights and data: mulberry32's known outputs, determinism
// of rngFor and rngFromState, resumption from state(), and the moments of normal().
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Rng, rngFor, rngFromState } from '../../src/engine/random.ts';

const draw = (r: Rng, k: number) =>
  Array.from({ length: k }, (_, i) => (i % 3 === 0 ? r.next() : i % 3 === 1 ? r.normal() : r.int(1000)));

test('rngFromState is mulberry32: its known first outputs from seed 0', () => {
  // bryc's reference mulberry32(0), the algorithm's published form.
  const r = rngFromState(0);
  assert.deepEqual([r.next(), r.next(), r.next()], [0.26642920868471265, 0.0003297457005828619, 0.2232720274478197]);
});

test('rngFor and rngFromState are deterministic in their seed and purpose', () => {
  assert.deepEqual(draw(rngFor(42, 'init'), 300), draw(rngFor(42, 'init'), 300));
  assert.deepEqual(draw(rngFromState(123), 300), draw(rngFromState(123), 300));
  assert.notDeepEqual(draw(rngFor(42, 'init'), 10), draw(rngFor(43, 'init'), 10));
  assert.notDeepEqual(draw(rngFor(42, 'init'), 10), draw(rngFor(42, 'data'), 10));
  assert.notDeepEqual(draw(rngFor(42, 'ab'), 10), draw(rngFor(42, 'ba'), 10));
  // Seeds are taken as uint32: the same bits give the same stream.
  assert.deepEqual(draw(rngFromState(-1), 10), draw(rngFromState(0xffffffff), 10));
});

test('state() resumes the sequence exactly, across next, normal and int', () => {
  const r = rngFor(7, 'resume');
  draw(r, 101);
  const saved = r.state();
  const rest = draw(r, 200);
  assert.deepEqual(draw(rngFromState(saved), 200), rest);
  assert.ok(Number.isInteger(saved) && saved >= 0 && saved < 2 ** 32, `state ${saved} is a uint32`);
});

test('next() lies in [0, 1) and int(n) covers [0, n) evenly', () => {
  const r = rngFor(1, 'uniform');
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 20000; i++) {
    const u = r.next();
    assert.ok(u >= 0 && u < 1, `next() gave ${u}`);
    const k = r.int(10);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 10, `int(10) gave ${k}`);
    counts[k] = (counts[k] as number) + 1;
  }
  // Each count is Binomial(20000, 0.1): mean 2000, sd 42; ±200 is almost 5 sd.
  for (const c of counts) assert.ok(Math.abs(c - 2000) < 200, `counts ${counts}`);
});

test('normal() has mean ≈ 0, variance ≈ 1 and the Gaussian 1σ mass over 1e5 draws', () => {
  const r = rngFor(2024, 'normal');
  const N = 100_000;
  let sum = 0;
  let sumSq = 0;
  let within1 = 0;
  for (let i = 0; i < N; i++) {
    const x = r.normal();
    assert.ok(Number.isFinite(x));
    sum += x;
    sumSq += x * x;
    if (Math.abs(x) < 1) within1++;
  }
  const mean = sum / N;
  const variance = sumSq / N - mean * mean;
  // Standard errors: mean 1/√N = 0.0032, variance √(2/N) = 0.0045, mass √(0.68·0.32/N) = 0.0015.
  assert.ok(Math.abs(mean) < 0.02, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.03, `variance ${variance}`);
  assert.ok(Math.abs(within1 / N - 0.6827) < 0.01, `P(|x| < 1) = ${within1 / N}`);
});
