// The `tiny` preset learns (issue 3, §7). Measured: the validation loss of the `tiny` preset
// (mhc-lite, n = 4, 2 layers, d 64, lr 3e-3, warmup 30, seed 1337) on the `synthetic` corpus,
// wasm backend, against the same model's loss before any step on the same fixed validation
// batches (5.52: ln 194 plus the spread of untrained logits). Every preset default is kept but
// `steps`: 200 instead of 300, a full warmup-then-cosine schedule two thirds as long, which ends
// at 2.58 (300 steps: 2.50; 150 steps: 2.70, too close to the 2.76 bar); about 20 s on 2 cores.
// One gradient worker, pinned (the default depends on the cores): the setting measured above.
// The same run's metrics file is checked for every field the issue asks for.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { initBackend } from '../../src/engine/backend.ts';
import { disposeParams, initParams } from '../../src/model/params.ts';
import { validationLoss } from '../../src/train/loop.ts';
import { learningRate } from '../../src/train/schedule.ts';
import { corpusFor, runTraining } from '../../src/train/session.ts';
import { resolveTrainConfig } from '../../src/train/train-config.ts';
import { metricsOf, tempDir } from './helpers.ts';

const LAYERS = [{ preset: 'tiny', steps: 200, backend: 'wasm', workers: 1 }];

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

test('tiny on synthetic halves the untrained validation loss; metrics carry the HC diagnostics', async (t) => {
  const out = path.join(tempDir(t), 'tiny');
  // The untrained model, resolved and initialised as runTraining does (same seed, same batches).
  const corpus = corpusFor(resolveTrainConfig(LAYERS, 1));
  const cfg = resolveTrainConfig(LAYERS, corpus.vocabSize);
  await initBackend('wasm');
  const params = initParams(cfg.model, cfg.seed);
  const initial = validationLoss(params, cfg, corpus);
  disposeParams(params);
  // ≈ ln V plus σ²/2 of the logits: ln_f runs per stream and the n streams are summed (as in the
  // reference), so untrained logits have σ ≈ n·√d·0.02 ≈ 0.6 and the loss is about ln V + 0.2.
  const lnV = Math.log(cfg.model.vocabSize);
  assert.ok(initial > lnV - 0.05 && initial < lnV + 0.4, `untrained loss ${initial} ≈ ln ${cfg.model.vocabSize} = ${lnV}`);

  const result = await runTraining({ out, layers: LAYERS, force: false, resume: false, version: 'test', commandLine: [] });
  assert.ok(result.finalValLoss < initial / 2, `validation loss ${result.finalValLoss} < ${initial} / 2`);
  assert.ok(result.finalLoss < initial / 2, `train loss ${result.finalLoss} < ${initial} / 2`);

  const records = metricsOf(out);
  const { steps, logInterval, evalInterval } = cfg;
  assert.deepEqual(records.map((r) => r.step), Array.from({ length: steps / logInterval }, (_, i) => logInterval * (i + 1)));
  const schedule = { lr: cfg.lr, minLr: cfg.minLr, warmupSteps: cfg.warmupSteps, decaySteps: steps };
  const n = cfg.model.nStreams;
  for (const r of records) {
    const step = r.step as number;
    const where = `step ${step}`;
    for (const k of ['loss', 'grad_norm', 'tokens_per_s']) assert.ok(Number.isFinite(r[k]) && (r[k] as number) > 0, `${where}: ${k} = ${r[k]}`);
    assert.equal(r.lr, learningRate(schedule, step - 1), `${where}: lr of the step just taken`);
    assert.equal('val_loss' in r, step % evalInterval === 0 || step === steps, `${where}: val_loss only at eval steps`);
    if ('val_loss' in r) assert.ok(Number.isFinite(r.val_loss), where);
    const hc = r.hc as { modules: Record<string, unknown>[]; layers: Record<string, unknown>[]; product: Record<string, number> };
    assert.equal(hc.modules.length, 2 * cfg.model.nLayers, where);
    hc.modules.forEach((m, i) => {
      assert.equal(m.layer, Math.floor(i / 2));
      assert.equal(m.module, i % 2 === 0 ? 'attn' : 'mlp');
      for (const k of ['identity_distance', 'off_diagonal_mass', 'read_dominance', 'read_n_eff', 'write_dominance', 'write_n_eff', 'amax_forward', 'amax_backward']) {
        assert.ok(Number.isFinite(m[k]) && (m[k] as number) >= 0, `${where} module ${i}: ${k} = ${m[k]}`);
      }
      assert.equal((m.mixing as number[][]).length, n);
      for (const k of ['read_shares', 'write_shares']) assert.ok(Math.abs(sum(m[k] as number[]) - 1) < 1e-6, `${where} module ${i}: ${k}`);
    });
    assert.equal(hc.layers.length, cfg.model.nLayers, where);
    for (const l of hc.layers) {
      const shares = l.signal_shares as number[];
      assert.equal(shares.length, n);
      assert.ok(Math.abs(sum(shares) - 1) < 1e-6, `${where}: signal shares sum to ${sum(shares)}`);
    }
    assert.ok(Number.isFinite(hc.product.amax_forward) && Number.isFinite(hc.product.amax_backward), where);
  }
  assert.equal(records.at(-1)?.val_loss, result.finalValLoss);
  // Training moves the mixing away from the identity it starts at (mhc-lite: identity permutation at init).
  type Hc = { modules: { identity_distance: number }[] };
  const firstHc = records[0]?.hc as Hc | undefined;
  const lastHc = records.at(-1)?.hc as Hc | undefined;
  assert.ok(firstHc && lastHc, 'the first and last records carry HC diagnostics');
  const first = firstHc.modules;
  const last = lastHc.modules;
  assert.ok(last.some((m, i) => m.identity_distance !== first[i]?.identity_distance));
});
