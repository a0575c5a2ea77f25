// `hcprobe sweep` end to end on a small grid: every run trains and the summary is written; run
// again, complete runs are kept, and a run stopped part-way resumes from its last checkpoint and
// ends on the losses of the uninterrupted run.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { cli, tempDir } from '../probes/helpers.ts';

const GRID = {
  name: 'tiny-resume',
  connections: ['residual'],
  streamInits: ['copy'],
  seeds: [1, 2, 3],
  config: { preset: 'tiny', layers: 1, dModel: 32, seqLen: 32, batchSize: 4, steps: 6, warmup: 2, evalInterval: 3, evalBatches: 1, logInterval: 2, checkpointInterval: 2, diagBatch: 2, workers: 0 },
};

const metricsOf = (run: string) => fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
const losses = (rs: Record<string, unknown>[]) => rs.map((r) => [r.step, r.loss, r.val_loss ?? null]);

test('sweep: trains every run; a second sweep keeps complete runs and resumes an interrupted one exactly', (t) => {
  const dir = tempDir(t);
  const grid = path.join(dir, 'grid.json');
  fs.writeFileSync(grid, JSON.stringify(GRID));
  const out = path.join(dir, 'sweep');
  const first = cli(['sweep', '--grid', grid, '--out', out]);
  assert.equal(first.status, 0, first.stderr);
  assert.ok(fs.existsSync(path.join(out, 'summary.md')) && fs.existsSync(path.join(out, 'summary.json')));
  const run = path.join(out, 'residual-s2');
  const want = metricsOf(run);
  assert.equal(want[want.length - 1]?.step, 6);

  // What a sweep killed during step 5 leaves: checkpoints up to step 4, metrics up to step 4.
  fs.rmSync(path.join(run, 'checkpoints', 'step-000006.safetensors'));
  fs.writeFileSync(path.join(run, 'metrics.jsonl'), want.filter((r) => (r.step as number) <= 4).map((r) => `${JSON.stringify(r)}\n`).join(''));
  const second = cli(['sweep', '--grid', grid, '--out', out]);
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stderr, /residual seed 1: already complete/);
  assert.match(second.stderr, /residual seed 2: resuming into/);
  assert.match(second.stderr, /residual seed 3: already complete/);
  assert.deepEqual(losses(metricsOf(run)), losses(want));

  // A run the sweep did not start (no job record) is trained afresh, not resumed.
  fs.rmSync(path.join(out, '.jobs', 'residual-s3.json'));
  fs.rmSync(path.join(out, 'residual-s3', 'checkpoints', 'step-000006.safetensors'));
  fs.writeFileSync(path.join(out, 'residual-s3', 'metrics.jsonl'), '');
  const third = cli(['sweep', '--grid', grid, '--out', out]);
  assert.equal(third.status, 0, third.stderr);
  assert.match(third.stderr, /residual seed 3: training into/);
  assert.equal(metricsOf(path.join(out, 'residual-s3')).at(-1)?.step, 6);
});
