// `hcprobe diagnose --workers`: the cross-stream ridge fits spread over worker threads give
// the stream diagnostics of the main thread alone, on a short synthetic run (4 streams, 2 layers).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { DiagnosticsResult } from '../../probes/results-schema.ts';
import { cli, TINY_RUN, tempDir, trainAndCapture } from './helpers.ts';

test('--workers 2 and --workers 0 write the same streams[], every site × layer × module', (t) => {
  const dir = tempDir(t);
  const { run, acts } = trainAndCapture(dir, 'resid_post,branch_in', 2048, { ...TINY_RUN, steps: 40, evalInterval: 40, checkpointInterval: 40 });
  // Without the run the causal part is skipped: only the capture's metrics are compared.
  fs.rmSync(run, { recursive: true });
  const diagnose = (workers: number) => {
    const out = path.join(dir, `diagnostics-${workers}.json`);
    const r = cli(['diagnose', '--acts', acts, '--out', out, '--backend', 'wasm', '--workers', String(workers)]);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(fs.readFileSync(out, 'utf8')) as DiagnosticsResult;
  };
  const spread = diagnose(2);
  const alone = diagnose(0);
  assert.equal(alone.causal, null);
  assert.equal(alone.streams.length, 2 * 2 * 2);
  assert.deepEqual(spread.streams, alone.streams);
  // Real fits, not placeholders: finite R² that differ between pairs (96 ordered pairs in all).
  const off = alone.streams.flatMap((s) => s.ridge_r2.flatMap((row, i) => row.filter((_, k) => k !== i)));
  assert.ok(off.every((r2) => Number.isFinite(r2)));
  assert.ok(new Set(off).size > 48, `${new Set(off).size} distinct R² of ${off.length}`);
});
