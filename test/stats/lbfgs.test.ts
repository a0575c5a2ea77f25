// L-BFGS on problems with known minimisers, and its ask/tell protocol.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Lbfgs, minimize } from '../../src/stats/lbfgs.ts';

test('minimises the Rosenbrock function to (1, 1)', () => {
  const fg = (x: Float64Array) => {
    const [a, b] = [x[0] as number, x[1] as number];
    return { f: (1 - a) ** 2 + 100 * (b - a * a) ** 2, g: Float64Array.from([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)]) };
  };
  const opt = minimize(fg, Float64Array.from([-1.2, 1]), { relTol: 0, gradTol: 1e-8 });
  assert.equal(opt.status, 'converged');
  assert.ok(Math.abs((opt.x[0] as number) - 1) < 1e-5 && Math.abs((opt.x[1] as number) - 1) < 1e-5, `x = ${opt.x}`);
});

test('solves an ill-conditioned quadratic in as many iterations as scipy’s L-BFGS-B', () => {
  const diag = Float64Array.from({ length: 20 }, (_, i) => 10 ** (i / 6));
  const target = Float64Array.from({ length: 20 }, (_, i) => Math.sin(i));
  const fg = (x: Float64Array) => {
    let f = 0;
    const g = new Float64Array(20);
    for (let i = 0; i < 20; i++) {
      const r = (x[i] as number) - (target[i] as number);
      f += 0.5 * (diag[i] as number) * r * r;
      g[i] = (diag[i] as number) * r;
    }
    return { f, g };
  };
  const opt = minimize(fg, new Float64Array(20), { relTol: 0, gradTol: 1e-9, maxIterations: 500 });
  assert.equal(opt.status, 'converged');
  opt.x.forEach((v, i) => assert.ok(Math.abs(v - (target[i] as number)) < 1e-8));
  // scipy.optimize L-BFGS-B (maxcor 10, gtol 1e-9) takes 260 iterations on this problem.
  assert.ok(opt.iterations <= 270, `${opt.iterations} iterations`);
});

test('stop() ends a run and keeps the last accepted iterate', () => {
  const opt = new Lbfgs(Float64Array.from([3]));
  assert.equal(opt.tell(9, Float64Array.from([6])), true);
  opt.stop();
  assert.equal(opt.status, 'stopped');
  assert.equal(opt.tell(0, Float64Array.from([0])), false);
  assert.deepEqual([...opt.x], [3]);
});
