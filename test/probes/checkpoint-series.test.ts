// --checkpoints parsing and the per-checkpoint paths: "all" or sorted distinct steps, a bad value
// named in the error; results go to DIR/checkpoints/step-XXXXXX/NAME; a missing step lists those there.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { checkpointActsDir, checkpointCaptures, checkpointResultPath, parseCheckpoints, selectSteps } from '../../probes/checkpoint-series.ts';
import { ConfigError } from '../../src/errors.ts';

test('parseCheckpoints: all, a sorted distinct list, and a ConfigError naming anything else', () => {
  assert.equal(parseCheckpoints('all'), 'all');
  assert.deepEqual(parseCheckpoints('80, 40,80'), [40, 80]);
  for (const bad of ['', 'latest', '40,', '-40', '4e1', '40;80']) {
    assert.throws(() => parseCheckpoints(bad), (e: unknown) => e instanceof ConfigError && e.message.includes(JSON.stringify(bad)), bad);
  }
});

test('per-checkpoint paths', () => {
  assert.equal(checkpointResultPath(path.join('results', 'r', 'diagnostics.json'), 40), path.join('results', 'r', 'checkpoints', 'step-000040', 'diagnostics.json'));
  assert.equal(checkpointResultPath(path.join('results', 'r', 'sae'), 1234567), path.join('results', 'r', 'checkpoints', 'step-1234567', 'sae'));
  assert.equal(checkpointActsDir(path.join('acts', 'r'), 5), path.join('acts', 'r', 'checkpoints', 'step-000005'));
});

test('selectSteps keeps the named steps; checkpointCaptures refuses an interrupted capture', (t) => {
  const entries = [10, 20, 30].map((step) => ({ step, path: `p${step}` }));
  assert.deepEqual(selectSteps(entries, [30, 10], 'here').map((e) => e.step), [10, 30]);
  assert.throws(() => selectSteps(entries, [25], 'here'), /step 25 is not in here \(steps there: 10, 20, 30\)/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcprobe-series-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  assert.throws(() => checkpointCaptures(dir, 'all'), /no per-checkpoint captures/);
  for (const s of [20, 10]) fs.mkdirSync(checkpointActsDir(dir, s), { recursive: true });
  fs.writeFileSync(path.join(checkpointActsDir(dir, 10), 'manifest.json'), '{}');
  assert.deepEqual(checkpointCaptures(dir, [10]).map((e) => e.step), [10]);
  assert.throws(() => checkpointCaptures(dir, 'all'), /step-000020 has no manifest\.json/);
});
