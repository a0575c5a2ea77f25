// Identical seeds give identical runs (losses, validation losses, gradient norms, HC
// diagnostics, final weights); a different seed gives different losses (issue 3, §7).
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { runTraining } from '../../src/train/session.ts';
import { metricsOf, TINY, tempDir, withoutTiming } from './helpers.ts';

async function run(dir: string, name: string, seed: number) {
  const out = path.join(dir, name);
  const result = await runTraining({ out, layers: [{ ...TINY, steps: 20, seed, backend: 'wasm' }], force: false, resume: false, version: 'test', commandLine: [] });
  return { result, metrics: metricsOf(out) };
}

test('the same seed twice gives the same run; another seed gives other losses', async (t) => {
  const dir = tempDir(t);
  const a = await run(dir, 'a', 7);
  const b = await run(dir, 'b', 7);
  const c = await run(dir, 'c', 8);

  assert.equal(a.metrics.length, 4);
  assert.deepEqual(withoutTiming(b.metrics), withoutTiming(a.metrics));
  assert.equal(b.result.finalLoss, a.result.finalLoss);
  assert.equal(b.result.finalValLoss, a.result.finalValLoss);

  const losses = (m: Record<string, unknown>[]) => m.map((r) => r.loss as number);
  for (const l of losses(a.metrics)) assert.ok(Number.isFinite(l));
  assert.equal(c.metrics.length, a.metrics.length);
  // Every logged loss differs: the seed moves both the initial weights and the batches.
  losses(c.metrics).forEach((l, i) => assert.notEqual(l, losses(a.metrics)[i], `loss at log ${i}`));
  assert.notEqual(c.result.finalValLoss, a.result.finalValLoss);
});
