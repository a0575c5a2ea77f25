// The library as a consumer uses it: `import … from 'hcprobe'` resolves through package.json's
// exports to api/index.ts; load a reference checkpoint and reproduce its logits, train a run,
// render its report, train and apply an SAE on rows with a planted dictionary.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as hcprobe from 'hcprobe';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'parity');

test('the package name resolves to the library surface', () => {
  for (const name of ['initBackend', 'loadCheckpoint', 'forward', 'lossFn', 'runWithCache', 'cacheActivations', 'residualStreams', 'train', 'openCapture', 'loadStreamSite', 'runProbes', 'diagnose', 'trainSae', 'SaeRunner', 'renderReport', 'writeReport']) {
    assert.equal(typeof (hcprobe as Record<string, unknown>)[name], 'function', name);
  }
});

test('loadCheckpoint + forward reproduce the reference logits of a fixture', async () => {
  await hcprobe.initBackend('cpu');
  const fx = JSON.parse(readFileSync(join(FIXTURE, 'mhc_lite.json'), 'utf8')) as { tokens: number[][]; logits: number[][][] };
  const { config, params } = hcprobe.loadCheckpoint(join(FIXTURE, 'mhc_lite.safetensors'));
  try {
    assert.equal(config.connection.kind, 'mhc-lite');
    const logits = hcprobe.tf.tidy(() => hcprobe.forward(params, config, hcprobe.tf.tensor2d(fx.tokens.flat(), [fx.tokens.length, fx.tokens[0]?.length ?? 0], 'int32')).arraySync() as number[][][]);
    let worst = 0;
    logits.forEach((row, b) => row.forEach((v, t) => v.forEach((x, i) => { worst = Math.max(worst, Math.abs(x - (fx.logits[b]?.[t]?.[i] ?? Number.NaN))); })));
    assert.ok(worst < 1e-4, `max |Δlogit| ${worst}`);
  } finally {
    hcprobe.disposeParams(params);
  }
});

test('train a tiny run, then render its report', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hcprobe-api-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'run');
  const layers: hcprobe.FlatTrainConfig[] = [{ preset: 'tiny', layers: 1, dModel: 16, heads: 2, seqLen: 16, batchSize: 2, steps: 4, logInterval: 2, evalInterval: 4, checkpointInterval: 4, evalBatches: 1, diagBatch: 1, workers: 0, backend: 'cpu' }];
  const result = await hcprobe.train({ out, layers, force: false, resume: false, version: 'test', commandLine: [] });
  assert.ok(Number.isFinite(result.finalValLoss));
  const report = hcprobe.renderReport(out, undefined);
  assert.match(report.html, /<html/);
  assert.ok(report.figures.length > 0);
});

test('trainSae and SaeRunner recover rows built from a planted dictionary', async () => {
  await hcprobe.initBackend('cpu');
  const d = 8;
  const atoms = [0, 3, 5].map((k) => Float32Array.from({ length: d }, (_, j) => (j === k ? 1 : 0)));
  const rows = 512;
  const x = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) x.set((atoms[r % atoms.length] as Float32Array).map((v) => v * (1 + (r % 7) / 7)), r * d);
  const cfg = hcprobe.saeTrainConfig({ act: { kind: 'topk', k: 1 }, dIn: d, dSae: 16, tokens: 20_000, batch: 128, seed: 1 });
  let at = 0;
  const source = {
    next: async () => {
      const out = new Float32Array(128 * d);
      for (let i = 0; i < 128; i++, at = (at + 1) % rows) out.set(x.subarray(at * d, (at + 1) * d), i * d);
      return out;
    },
  };
  const sae = await hcprobe.trainSae(cfg, source);
  const runner = new hcprobe.SaeRunner(sae.params);
  try {
    const { xhat } = runner.reconstruct(x, rows);
    let err = 0;
    let norm = 0;
    for (let i = 0; i < x.length; i++) {
      err += ((xhat[i] as number) - (x[i] as number)) ** 2;
      norm += (x[i] as number) ** 2;
    }
    assert.ok(err / norm < 0.05, `fraction of variance unexplained ${err / norm}`);
  } finally {
    runner.dispose();
  }
});
