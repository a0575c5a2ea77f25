// Metrics at known values: EV of a perfect reconstruction is 1 and of the mean prediction 0;
// densities; stream shares of block-structured decoders; label correlations of indicators.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rngFor } from '../../src/engine/random.ts';
import { concentration, streamShares } from '../../sae/attribution.ts';
import { bestLatents, labelCorrelations } from '../../sae/label-match.ts';
import { densityStats, ReconstructionStats } from '../../sae/metrics.ts';
import { thresholdCodes } from '../../sae/sparse-codes.ts';

const rng = rngFor(2, 'metrics');
const d = 5;
const rows = 400;
const x = Float32Array.from({ length: rows * d }, () => 3 + rng.normal());

test('EV of a perfect reconstruction is 1, of the mean prediction 0, of zero prediction negative', () => {
  const perfect = new ReconstructionStats(d);
  perfect.add(x, x, rows);
  assert.equal(perfect.ev(), 1);
  assert.equal(perfect.mse(), 0);
  const mean = new Float32Array(d);
  for (let r = 0; r < rows; r++) for (let t = 0; t < d; t++) mean[t] = (mean[t] as number) + (x[r * d + t] as number) / rows;
  const meanPred = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) meanPred.set(mean, r * d);
  const m = new ReconstructionStats(d);
  m.add(x.subarray(0, 200 * d), meanPred.subarray(0, 200 * d), 200); // two chunks: accumulation across calls
  m.add(x.subarray(200 * d), meanPred.subarray(200 * d), 200);
  assert.ok(Math.abs(m.ev()) < 1e-5, `EV ${m.ev()}`);
  const zero = new ReconstructionStats(d);
  zero.add(x, new Float32Array(rows * d), rows);
  assert.ok(zero.ev() < -5, 'predicting 0 for data centred at 3 is far worse than the mean');
});

test('densities, L0, dead and dense fractions', () => {
  // latent 0 fires on every row, 1 on every 50th (2%), 2 never, 3 on every 20th (5%)
  const m = 4;
  const pre = new Float32Array(rows * m);
  for (let r = 0; r < rows; r++) {
    pre[r * m] = 1;
    if (r % 50 === 0) pre[r * m + 1] = 2;
    if (r % 20 === 0) pre[r * m + 3] = 0.5;
  }
  const s = densityStats(thresholdCodes(pre, rows, m, 0), m);
  assert.deepEqual(Array.from(s.density), [1, 0.02, 0, 0.05]);
  assert.equal(s.l0, 1 + 0.02 + 0.05);
  assert.equal(s.deadFraction, 0.25);
  assert.equal(s.dense1pct, 0.75);
  assert.equal(s.dense10pct, 0.25);
});

test('stream shares and concentration of block-structured decoder rows', () => {
  const n = 3;
  const dd = 2;
  // row 0 only in stream 1; row 1 split 0.8/0.2 between streams 0 and 2; row 2 uniform
  const w = Float32Array.from([0, 0, 3, 4, 0, 0, Math.sqrt(0.8), 0, 0, 0, 0, Math.sqrt(0.2), 1, 0, 1, 0, 0, 1]);
  const shares = streamShares(w, 3, n, dd);
  const near = (a: ArrayLike<number>, b: number[]) => b.forEach((v, i) => assert.ok(Math.abs((a[i] as number) - v) < 1e-6, `${a[i]} vs ${v}`));
  near(shares, [0, 1, 0, 0.8, 0, 0.2, 1 / 3, 1 / 3, 1 / 3]);
  const c = concentration(shares, n, [true, true, true]);
  assert.equal(c.live, 3);
  assert.ok(Math.abs(c.concentrated - 2 / 3) < 1e-12);
  near(c.byStream, [1 / 3, 1 / 3, 0]);
  const dead = concentration(shares, n, [false, true, true]);
  assert.equal(dead.live, 2);
  near(dead.byStream, [0.5, 0, 0]);
});

test('a latent equal to a label indicator correlates 1 with it; not-applicable rows are left out', () => {
  const m = 3;
  const labels = [{ name: 'parity', values: ['even', 'odd'] }];
  const y = Int32Array.from({ length: rows }, (_, r) => (r % 7 === 0 ? -1 : r % 2));
  const pre = new Float32Array(rows * m);
  for (let r = 0; r < rows; r++) {
    pre[r * m] = y[r] === 1 ? 2 : 0; // the "odd" indicator, times 2
    pre[r * m + 1] = rng.next(); // noise
    pre[r * m + 2] = y[r] === -1 ? 5 : 0; // fires only where the label does not apply
  }
  const c = labelCorrelations(thresholdCodes(pre, rows, m, 0), m, labels, new Map([['parity', y]]));
  const odd = (c.corr[0] as Float64Array[])[1] as Float64Array;
  assert.ok(Math.abs((odd[0] as number) - 1) < 1e-9);
  assert.ok(Math.abs(odd[1] as number) < 0.2);
  assert.equal(odd[2], 0, 'constant on the applicable rows: no correlation');
  const best = bestLatents(c);
  assert.deepEqual(best.map((b) => [b.value, b.latent]), [['even', 0], ['odd', 0]]);
  assert.ok(Math.abs((best[0] as { corr: number }).corr + 1) < 1e-9, 'even is the negated indicator');
});
