// Data parallelism changes the arithmetic's order, not the run: 0, 1 and 2 extra worker threads
// (src/train/parallel.ts) give the same metrics.jsonl on wasm. With batch 4, one worker splits
// every micro-batch 2 + 2 rows; two workers split it 2 + 1 + 1, so the row weights are uneven.
// Measured (20 steps of TINY): losses and gradient norms agree to 1.1e-7 relative, validation
// losses exactly; the HC diagnostics, some near zero, to 3.6e-6 absolute.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { runTraining } from '../../src/train/session.ts';
import { metricsOf, TINY, tempDir, withoutTiming } from './helpers.ts';

const LOSS_REL = 1e-6;
const DIAG_ABS = 1e-4;

/** Every number in a JSON value, keyed by its path. */
function leaves(x: unknown, at: string, out = new Map<string, number>()): Map<string, number> {
  if (typeof x === 'number') out.set(at, x);
  else if (Array.isArray(x)) x.forEach((v, i) => leaves(v, `${at}[${i}]`, out));
  else if (x !== null && typeof x === 'object') for (const [k, v] of Object.entries(x)) leaves(v, `${at}.${k}`, out);
  return out;
}

async function run(dir: string, workers: number) {
  const out = path.join(dir, `workers-${workers}`);
  await runTraining({ out, layers: [{ ...TINY, steps: 20, workers, backend: 'wasm' }], force: false, resume: false, version: 'test', commandLine: [] });
  const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as { workers: number; backend: { active: string } };
  return { config, metrics: withoutTiming(metricsOf(out)) };
}

test('0, 1 and 2 gradient workers give the same losses and diagnostics on wasm', async (t) => {
  const dir = tempDir(t);
  const base = await run(dir, 0);
  assert.equal(base.config.backend.active, 'wasm');
  assert.equal(base.metrics.length, 4);
  const baseLeaves = leaves(base.metrics, '');
  for (const workers of [1, 2]) {
    await t.test(`${workers} worker${workers > 1 ? 's' : ''}`, async () => {
      const other = await run(dir, workers);
      assert.equal(other.config.workers, workers, 'the run used the pinned worker count');
      assert.deepEqual(other.metrics.map((r) => [r.step, r.lr]), base.metrics.map((r) => [r.step, r.lr]));
      const got = leaves(other.metrics, '');
      assert.deepEqual([...got.keys()], [...baseLeaves.keys()], 'the same fields');
      const off: string[] = [];
      for (const [key, v] of baseLeaves) {
        const u = got.get(key) as number;
        const field = /^\[\d+\]\.(\w+)/.exec(key)?.[1];
        const ok = field === 'loss' || field === 'val_loss' || field === 'grad_norm' ? Math.abs(u - v) <= LOSS_REL * Math.abs(v) : Math.abs(u - v) <= DIAG_ABS;
        if (!ok) off.push(`${key}: ${u} with ${workers}, ${v} with 0`);
      }
      assert.deepEqual(off, []);
      // Not the same bits: the split changes the order of the sums, so the runs are distinct.
      assert.ok(other.metrics.some((r, i) => r.loss !== base.metrics[i]?.loss || r.grad_norm !== base.metrics[i]?.grad_norm), 'the parallel path ran');
    });
  }
});
