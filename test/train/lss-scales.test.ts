// LSS scales in metrics.jsonl: the maths on a planted matrix, and a run with LSS init whose logged
// norms equal the norms of expand_stream.lss read back from its checkpoints at the same steps.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { readSafetensorsFile } from '../../src/io/safetensors.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import { type LssScales, lssScales, lssScalesOf } from '../../src/train/lss-scales.ts';
import { cli, metricsOf, TINY, tempDir, writeJson } from './helpers.ts';

const close = (a: number, b: number, tol = 1e-6) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

test('lssScalesOf: norms, means, spread (σ/μ of the norms) and the inspect_lss.py summary of a planted 2×2 matrix', () => {
  // Rows (3, 4) and (0, 1): norms 5 and 1, mean norm 3, population σ 2.
  const s = lssScalesOf([3, 4, 0, 1], 2, 2);
  assert.deepEqual(s.norms, [5, 1]);
  assert.deepEqual(s.means, [3.5, 0.5]);
  assert.ok(close(s.spread, 2 / 3), `spread ${s.spread}`);
  assert.equal(s.mean, 2);
  assert.ok(close(s.std, Math.sqrt(10 / 3)), `unbiased std ${s.std}`);
  assert.deepEqual([s.min, s.max], [0, 4]);
  assert.equal(lssScalesOf([2, 2, 2, 2], 2, 2).spread, 0, 'equal streams: no spread');
  assert.throws(() => lssScalesOf([1, 2, 3], 2, 2), /expected 2×2/);
});

test('a model without LSS logs none', () => {
  assert.equal(lssScales(new Map(), { streamInit: { kind: 'copy' } } as ModelConfig), undefined);
});

test('a run with LSS init logs lss at every log step, equal to the checkpoint\'s expand_stream.lss norms', (t) => {
  const dir = tempDir(t);
  const cfg = writeJson(path.join(dir, 'cfg.json'), { ...TINY, connection: 'mhc-lite', streamInit: 'lss', streams: 3, steps: 10, logInterval: 5, evalInterval: 10 });
  const run = path.join(dir, 'run');
  const r = cli(['train', '--config', cfg, '--out', run, '--checkpoint-interval', '5']);
  assert.equal(r.status, 0, r.stderr);
  const recs = metricsOf(run);
  assert.deepEqual(recs.map((x) => x.step), [5, 10]);
  const logged = recs.map((x) => x.lss as LssScales);
  for (const [k, step] of [5, 10].entries()) {
    const file = readSafetensorsFile(path.join(run, 'checkpoints', `step-${String(step).padStart(6, '0')}.safetensors`));
    const w = file.tensors.get('expand_stream.lss');
    assert.ok(w, 'the checkpoint holds expand_stream.lss');
    const [n, d] = w.shape as [number, number];
    assert.equal(n, 3);
    const norms = Array.from({ length: n }, (_, i) => Math.hypot(...Array.from(w.data.subarray(i * d, (i + 1) * d))));
    const lss = logged[k] as LssScales;
    assert.equal(lss.norms.length, 3);
    for (let i = 0; i < n; i++) assert.ok(close(lss.norms[i] as number, norms[i] as number, 1e-5), `step ${step} stream ${i}: logged ${lss.norms[i]}, checkpoint ${norms[i]}`);
    const mu = norms.reduce((a, b) => a + b, 0) / n;
    const sigma = Math.sqrt(norms.reduce((a, b) => a + (b - mu) ** 2, 0) / n);
    assert.ok(close(lss.spread, sigma / mu, 1e-4), `spread ${lss.spread} vs ${sigma / mu}`);
  }
  assert.notDeepEqual(logged[0]?.norms, logged[1]?.norms, 'the scales train: step 10 differs from step 5');
});
