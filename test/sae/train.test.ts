// SAE training on synthetic data with known structure (issue 6, item 6): a TopK SAE recovers
// a planted dictionary; a concat SAE attributes its features to the one stream with signal;
// decoder rows stay unit norm; BatchTopK's threshold gives L0 ≈ k at inference; saved
// weights with the scale folded back reconstruct raw inputs as the trained SAE does; no
// tensors leak per step.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.ts';
import { rngFor } from '../../src/engine/random.ts';
import { tf } from '../../src/engine/tf.ts';
import { SaeRunner } from '../../sae/apply.ts';
import { concentration, streamShares } from '../../sae/attribution.ts';
import { type SaeKind, saeTrainConfig } from '../../sae/config.ts';
import { densityStats } from '../../sae/metrics.ts';
import { initSaeParams } from '../../sae/sae-params.ts';
import { readSae, writeSae } from '../../sae/save.ts';
import { SaeTrainer } from '../../sae/train-step.ts';
import { type BatchSource, trainSae } from '../../sae/train.ts';
import { bestCosines, knownDictionary, mixSource, sampleMix, type SparseMix } from './helpers.ts';

before(async () => {
  await initBackend('wasm');
});

const d = 32;
const mix: SparseMix = { dict: knownDictionary(d, 64, 1), d, active: 3, noise: 0.01 };

test('a TopK SAE recovers ≥ 90% of a planted dictionary with cosine ≥ 0.9; decoder rows stay unit norm', async () => {
  const cfg = saeTrainConfig({ act: { kind: 'topk', k: 4 }, dIn: d, dSae: 256, tokens: 250_000, batch: 512, seed: 3 });
  const r = await trainSae(cfg, mixSource(mix, cfg.batch, 4));
  const cos = bestCosines(mix.dict, r.params.wDec, d);
  const recovered = cos.filter((c) => c >= 0.9).length / cos.length;
  assert.ok(recovered >= 0.9, `recovered ${recovered}`);
  for (let i = 0; i < r.params.dSae; i++) {
    let s = 0;
    for (let t = 0; t < d; t++) s += (r.params.wDec[i * d + t] as number) ** 2;
    assert.ok(Math.abs(Math.sqrt(s) - 1) < 1e-5, `row ${i} has norm ${Math.sqrt(s)}`);
  }
  // The control: an untrained SAE of the same width recovers almost nothing.
  const init = initSaeParams(d, 256, cfg.act, 3);
  assert.ok(bestCosines(mix.dict, init.wDec, d).filter((c) => c >= 0.9).length / 64 < 0.1);
});

test('a concat SAE on streams where only stream 2 carries signal attributes ≥ 90% of live features to stream 2', async () => {
  const n = 4;
  const dd = 16;
  const inner: SparseMix = { dict: knownDictionary(dd, 24, 5), d: dd, active: 2, noise: 0.01 };
  const rng = rngFor(6, 'concat');
  const source: BatchSource = {
    next: async () => {
      const rows = 1024;
      const s = sampleMix(inner, rows, rng);
      const x = new Float32Array(rows * n * dd);
      for (let r = 0; r < rows; r++) {
        for (let i = 0; i < n; i++) for (let t = 0; t < dd; t++) x[(r * n + i) * dd + t] = i === 2 ? (s[r * dd + t] as number) : 0.01 * rng.normal();
      }
      return x;
    },
  };
  const cfg = saeTrainConfig({ act: { kind: 'topk', k: 4 }, dIn: n * dd, dSae: 256, tokens: 120_000, batch: 1024, seed: 7 });
  const r = await trainSae(cfg, source);
  const runner = new SaeRunner(r.params);
  const evalX = await source.next();
  const codes = runner.encode(evalX, 1024);
  runner.dispose();
  const live = Array.from(densityStats(codes, cfg.dSae).density, (x) => x > 0);
  const c = concentration(streamShares(r.params.wDec, cfg.dSae, n, dd), n, live);
  assert.ok(c.live > 20, `live ${c.live}`);
  assert.ok((c.byStream[2] as number) >= 0.9, `share of live features in stream 2: ${c.byStream[2]} (by stream ${c.byStream})`);
  assert.equal(c.dominant, 2);
});

test('batchtopk: θ is estimated while training and gives L0 near k per token at inference', async () => {
  const k = 4;
  const cfg = saeTrainConfig({ act: { kind: 'batchtopk', k }, dIn: d, dSae: 128, tokens: 120_000, batch: 1024, seed: 8 });
  const r = await trainSae(cfg, mixSource(mix, cfg.batch, 9));
  assert.equal(r.last.l0, k, 'training keeps exactly k·B per batch');
  const theta = r.params.threshold as number;
  assert.ok(theta > 0, `θ ${theta}`);
  const runner = new SaeRunner(r.params);
  const x = sampleMix(mix, 2048, rngFor(10, 'eval'));
  const l0 = densityStats(runner.encode(x, 2048), cfg.dSae).l0;
  const lower = densityStats(new SaeRunner({ ...r.params, threshold: theta / 4 }).encode(x, 2048), cfg.dSae).l0;
  runner.dispose();
  assert.ok(l0 > 0.5 * k && l0 < 2 * k, `inference L0 ${l0} for k ${k}`);
  assert.ok(lower > l0, 'a lower threshold keeps more latents');
});

test('saved weights (scale folded back) reconstruct raw inputs like the trained SAE', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcprobe-sae-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const big: BatchSource = { next: async () => (await mixSource(mix, 512, 11).next()).map((v) => 7 * v + 0.5) };
  for (const act of [{ kind: 'topk', k: 4 }, { kind: 'batchtopk', k: 4 }, { kind: 'relu', l1: 1 }, { kind: 'relu', l1: 1, streamBlocks: 4 }, { kind: 'jumprelu', l0: 0.5, bandwidth: 0.5 }, { kind: 'matryoshka', k: 4, prefixes: [4, 16, 64] }] as SaeKind[]) {
    const cfg = saeTrainConfig({ act, dIn: d, dSae: 64, tokens: 512 * 20, batch: 512, seed: 12 });
    const r = await trainSae(cfg, big);
    assert.ok(Math.abs(r.params.scale - 1) > 0.1, `scale ${r.params.scale} differs from 1`);
    const folder = path.join(dir, JSON.stringify(act).replace(/[^a-z0-9]+/gi, '-'));
    writeSae(folder, r.params, { hookName: 'h', layer: 0, seqLen: 8, modelName: 'm', datasetPath: 'a', extra: {} });
    const loaded = readSae(folder);
    assert.deepEqual(loaded.act, act, 'the kind and its parameters survive cfg.json');
    assert.deepEqual(loaded.thresholds, r.params.thresholds, 'JumpReLU thresholds survive the threshold tensor');
    assert.equal(loaded.scale, 1);
    const x = await big.next();
    const a = new SaeRunner(r.params);
    const b = new SaeRunner(loaded);
    const ra = a.reconstruct(x, 512);
    const rb = b.reconstruct(x, 512);
    a.dispose();
    b.dispose();
    let maxDiff = 0;
    let maxAbs = 0;
    for (let i = 0; i < x.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs((ra.xhat[i] as number) - (rb.xhat[i] as number)));
      maxAbs = Math.max(maxAbs, Math.abs(ra.xhat[i] as number));
    }
    assert.ok(maxDiff < 1e-4 * maxAbs, `${act.kind}: max difference ${maxDiff} (max |x̂| ${maxAbs})`);
    assert.deepEqual(ra.codes.idx, rb.codes.idx, `${act.kind}: same latents fire`);
  }
});

test('tf.memory().numTensors does not grow over training steps', () => {
  for (const act of [{ kind: 'topk', k: 4 }, { kind: 'relu', l1: 1 }, { kind: 'jumprelu', l0: 0.5, bandwidth: 0.5 }, { kind: 'matryoshka', k: 4, prefixes: [8, 64] }] as SaeKind[]) {
    const cfg = saeTrainConfig({ act, dIn: d, dSae: 64, tokens: 4096, batch: 256, seed: 13 });
    const trainer = new SaeTrainer(initSaeParams(d, 64, act, 13), cfg, 256);
    const x = sampleMix(mix, 256, rngFor(14, 'leak'));
    trainer.step(x, 256);
    const after1 = tf.memory().numTensors;
    for (let s = 0; s < 5; s++) trainer.step(x, 256);
    assert.equal(tf.memory().numTensors, after1, act.kind);
    const before = tf.memory().numTensors;
    trainer.dispose();
    assert.equal(tf.memory().numTensors, before - 1, 'the encoder weight was the one tensor held');
  }
});
