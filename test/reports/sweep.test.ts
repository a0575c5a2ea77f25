// Sweep statistics and grid parsing: t quantiles against tabulated values, interval arithmetic,
// paired differences, and grid files that are refused with the value named.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSweepGrid, sweepCells } from '../../cli/commands/sweep.ts';
import { ConfigError } from '../../src/errors.ts';
import { summariseRun } from '../../reports/run-data.ts';
import { summariseSweep } from '../../api/sweep-stats.ts';
import { differs, sweepMarkdown, sweepRunsMarkdown } from '../../reports/sweep-summary.ts';
import { meanInterval, tCdf, tQuantile } from '../../src/stats/t-interval.ts';
import { fakeRun } from './fixtures.ts';

test('t quantiles match the tables', () => {
  const table: [number, number, number][] = [[0.975, 1, 12.7062], [0.975, 2, 4.3027], [0.975, 4, 2.7764], [0.975, 10, 2.2281], [0.975, 30, 2.0423], [0.95, 5, 2.015], [0.995, 3, 5.8409]];
  for (const [p, nu, t] of table) assert.ok(Math.abs(tQuantile(p, nu) - t) < 1e-4, `t(${p}, ${nu}) = ${tQuantile(p, nu)}`);
  assert.ok(Math.abs(tCdf(0, 7) - 0.5) < 1e-12);
  assert.ok(Math.abs(tQuantile(0.025, 2) + 4.3027) < 1e-4, 'symmetric');
  assert.ok(Math.abs(tQuantile(0.975, 1e6) - 1.96) < 1e-3, 'tends to the normal');
});

test('mean interval: known half-width, NaN below two values', () => {
  const m = meanInterval([1, 2, 3]);
  assert.equal(m.mean, 2);
  assert.equal(m.sd, 1);
  assert.ok(Math.abs(m.halfWidth - 4.302653 / Math.sqrt(3)) < 1e-5);
  assert.ok(Number.isNaN(meanInterval([5]).halfWidth));
});

test('sweep summary: means per cell and differences paired by seed', () => {
  const run = (name: string, shift: number) => {
    const r = fakeRun({ name });
    return { ...r, metrics: r.metrics.map((m) => (m.val_loss === undefined ? m : { ...m, val_loss: m.val_loss + shift })) };
  };
  const runs = [1, 2, 3].flatMap((seed) => [
    { cell: 'a', seed, run: run('a', seed * 0.1) },
    { cell: 'b', seed, run: run('b', seed * 0.1 - 0.05) },
  ]).map((x) => ({ ...x, summary: summariseRun(x.run) }));
  const [a, b] = summariseSweep(runs, ['a', 'b']);
  assert.deepEqual(a?.seeds, [1, 2, 3]);
  assert.equal(a?.valLossDelta, undefined);
  assert.ok(Math.abs((b?.valLossDelta?.mean as number) + 0.05) < 1e-12);
  assert.ok(Math.abs(b?.valLossDelta?.halfWidth as number) < 1e-9, 'the same shift every seed: zero spread');
  assert.ok(Math.abs((a?.valLoss.halfWidth as number) - (4.302653 * 0.1) / Math.sqrt(3)) < 1e-5);
  assert.equal(differs(b?.valLossDelta), true);
  assert.match(sweepMarkdown([a, b].filter((x) => x !== undefined)), /\| b \| 1,2,3 \|.*\*/);
});

test('grid files: cells, and errors that name the value', () => {
  const g = parseSweepGrid({ connections: ['residual', 'mhc-lite'], streamInits: ['copy', 'lss'], seeds: [1, 2, 3], config: { preset: 'tiny' } }, 'grid.json');
  assert.equal(g.name, 'grid');
  assert.deepEqual(sweepCells(g).map((c) => c.cell), ['residual', 'mhc-lite-copy', 'mhc-lite-lss']);
  const bad: [unknown, RegExp][] = [
    [{ connections: ['hc'], streamInits: ['copy'], seeds: [1, 2] }, /at least 3 distinct seeds/],
    [{ connections: ['hc2'], streamInits: ['copy'], seeds: [1, 2, 3] }, /connections has "hc2"/],
    [{ connections: ['hc'], streamInits: ['copy'], seeds: [1, 2, 3], extra: 1 }, /unknown key "extra"/],
    [{ connections: ['hc'], streamInits: ['copy'], seeds: [1, 2, 3], config: { seed: 4 } }, /config.seed is set by the grid/],
    [{ connections: ['hc'], streamInits: ['copy'], seeds: [1, 2, 3], config: { stepz: 4 } }, /unknown key "stepz"/],
  ];
  for (const [raw, re] of bad) assert.throws(() => parseSweepGrid(raw, 'grid.json'), (e: unknown) => e instanceof ConfigError && re.test(e.message));
});

test('per-run table: the dominant stream and the modules that read it at init', () => {
  // fakeRun's dominant stream is 1 at every layer (3 layers: 6 modules).
  const withInit = (reads: number[] | undefined) => {
    const r = fakeRun({ name: 'x' });
    return { ...r, config: { ...r.config, ...(reads ? { init_read_streams: reads } : {}) } };
  };
  const runs = [
    { cell: 'a', seed: 1, run: withInit([1, 1, 0, 2, 3, 1]) },
    { cell: 'a', seed: 2, run: withInit([0, 2, 0, 2, 3, 3]) },
    { cell: 'a', seed: 3, run: withInit(undefined) },
  ].map((x) => ({ ...x, summary: summariseRun(x.run) }));
  assert.deepEqual(runs[0]?.summary.dominantReadBy, ['0.attn', '0.mlp', '2.mlp']);
  assert.deepEqual(runs[1]?.summary.dominantReadBy, []);
  assert.equal(runs[2]?.summary.dominantReadBy, undefined);
  const md = sweepRunsMarkdown(runs);
  assert.match(md, /\| a \| 1 \| .* \| 1 \| 1, 1, 0, 2, 3, 1 \| 0\.attn, 0\.mlp, 2\.mlp \|/);
  assert.match(md, /\| a \| 2 \| .* \| 1 \| 0, 2, 0, 2, 3, 3 \| no module \|/);
  assert.match(md, /\| a \| 3 \| .* \| not recorded \| — \|/);
});
