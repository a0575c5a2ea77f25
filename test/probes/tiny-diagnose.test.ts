// `hcprobe diagnose` end to end on a tiny synthetic run: every site's metrics, the unfolded
// matrix, the causal part (whose logit lens after the last layer is the model's own loss),
// the run found through the manifest or skipped, and every bad input exits 2.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import type { DiagnosticsResult } from '../../probes/results-schema.ts';
import { cli, editedCapture, TINY_RUN, tempDir, trainAndCapture } from './helpers.ts';

let dir = '';
let acts = '';
let run = '';
let result: DiagnosticsResult;

before((t) => {
  dir = tempDir(t as unknown as { after(fn: () => void): void });
  ({ acts, run } = trainAndCapture(dir, 'resid_pre,resid_post,branch_in,branch_out,coeffs', 2048));
  const out = path.join(dir, 'diagnostics.json');
  // No --run: the manifest names the run, which exists.
  const r = cli(['diagnose', '--acts', acts, '--out', out, '--eval-tokens', '2048', '--backend', 'wasm']);
  assert.equal(r.status, 0, r.stderr);
  result = JSON.parse(fs.readFileSync(out, 'utf8')) as DiagnosticsResult;
});

test('every stream site × layer × module, with shares that sum to one and n × n matrices', () => {
  assert.equal(result.schema_version, 1);
  assert.equal(result.streams.length, 4 * 2 * 2);
  for (const s of result.streams) {
    assert.ok(Math.abs(s.signal.shares.reduce((a, b) => a + b, 0) - 1) < 1e-9);
    assert.equal(s.signal.shares[s.signal.dominant], s.signal.dominance);
    assert.ok(s.signal.n_eff >= 1 && s.signal.n_eff <= 4 + 1e-9);
    for (const m of [s.cosine, s.cka, s.ridge_r2, s.ridge_alpha]) {
      assert.equal(m.length, 4);
      for (const row of m) assert.equal(row.length, 4);
    }
    for (let i = 0; i < 4; i++) assert.equal((s.cka[i] as number[])[i], 1);
  }
  // resid_pre of the MLP is resid_post of attention: the same tensor gives the same numbers.
  const pick = (site: string, module: string) => result.streams.find((s) => s.site === site && s.layer === 1 && s.module === module);
  assert.deepEqual(pick('resid_pre', 'mlp')?.energy, pick('resid_post', 'attn')?.energy);
});

test('the init read streams of the run travel through capture into the init-bias verdict', () => {
  const cfg = JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8')) as { init_read_streams: number[] };
  assert.equal(cfg.init_read_streams.length, 4);
  const b = result.init_read_bias;
  assert.ok(b, 'init_read_bias is reported');
  assert.deepEqual(b.read_streams, cfg.init_read_streams);
  assert.equal(b.counts.reduce((a, c) => a + c, 0), 4);
  const last = result.streams.find((s) => s.site === 'resid_post' && s.layer === 1 && s.module === 'mlp');
  assert.equal(b.dominant, last?.signal.dominant);
  assert.equal(b.dominant_is_favoured, b.favoured.includes(b.dominant as number));
  assert.equal(b.modules.length, 4);
});

test('coefficients, mixing product and the unfolded 2L × 2L matrix', () => {
  assert.equal(result.coefficients.length, 4);
  for (const k of result.coefficients) {
    assert.ok(Math.abs(k.read.shares.reduce((a, b) => a + b, 0) - 1) < 1e-9);
    // mHC-lite mixing is doubly stochastic: both Amax gains are 1.
    assert.ok(Math.abs(k.amax.forward - 1) < 1e-4 && Math.abs(k.amax.backward - 1) < 1e-4, JSON.stringify(k.amax));
  }
  const u = result.unfolded;
  assert.ok(u);
  assert.deepEqual(u.modules, ['0.attn', '0.mlp', '1.attn', '1.mlp']);
  u.matrix.forEach((row, k) => row.forEach((c, j) => (j >= k ? assert.equal(c, 0) : assert.ok(c !== 0))));
  assert.ok(result.mixing_product && Math.abs(result.mixing_product.amax.forward - 1) < 1e-4);
  assert.ok(result.dominance.some((d) => d.what === 'read' && d.layers.length === 2));
});

test('causal: ablations per layer and stream; the logit lens after the last layer is the model’s loss', () => {
  const c = result.causal;
  assert.ok(c, result.notes.join('; '));
  assert.equal(result.run, run);
  for (const m of [c.ablation_zero, c.ablation_mean, c.logit_lens]) {
    assert.equal(m.length, 2);
    for (const row of m) assert.equal(row.length, 4);
  }
  assert.ok(Math.abs((c.logit_lens_sum[1] as number) - c.loss) < 1e-4, `${c.logit_lens_sum[1]} vs ${c.loss}`);
  assert.ok(c.loss > 0 && c.loss < Math.log(194));
  assert.ok(c.ablation_zero.flat().some((v) => Math.abs(v) > 1e-4), 'zeroing a stream changes the loss');
  // mHC-lite: zeroing the off-diagonal (rows renormalised) is the identity intervention again.
  const iv = new Map((c.mixing_interventions ?? []).map((x) => [x.name, x]));
  assert.deepEqual([...iv.keys()], ['identity', 'no_off_diagonal', 'token_mean', 'permuted']);
  assert.ok(Math.abs((iv.get('identity')?.delta_ce as number) - (iv.get('no_off_diagonal')?.delta_ce as number)) < 1e-5);
  for (const x of iv.values()) assert.ok(x.ci_low !== null && x.ci_high !== null && x.ci_low <= x.delta_ce && x.delta_ce <= x.ci_high && x.batches > 1, JSON.stringify(x));
  // Ablate and rescue, on by default (2048 tokens: 62 windows of 33, 8 batches of 8).
  const r = c.ablate_rescue;
  assert.ok(r, 'ablate_rescue is measured by default');
  assert.equal(r.tokens, 62 * 32);
  assert.equal(r.batches, 8);
  assert.equal(r.pair_ablation.length, 2);
  for (let l = 0; l < 2; l++) {
    for (let i = 0; i < 4; i++) {
      assert.equal(r.rescue[l]?.[i]?.[i], 0, `layer ${l}: restoring stream ${i} from the clean run`);
      assert.equal(r.pair_ablation[l]?.[i]?.[i], r.ablate[l]?.[i]);
    }
  }
  assert.ok(r.dominant.every((s) => s >= 0 && s < 4));
});

test('direct logit attribution sums to the logit; the layer arrangement reads the unfolded matrix', () => {
  const a = result.causal?.direct_logit_attribution;
  assert.ok(a);
  assert.deepEqual(a.sources, ['embed', '0.attn', '0.mlp', '1.attn', '1.mlp']);
  assert.ok(a.matrix.every((row) => row.length === 4) && a.tokens === result.causal?.tokens);
  assert.ok(a.max_abs_error < 1e-3, `${a.max_abs_error}`);
  assert.ok(Math.abs(a.matrix.flat().reduce((s, v) => s + v, 0) + a.ln_bias - a.logit) < 1e-4);
  assert.ok(a.logit > 0, 'a trained model ranks the correct token above the mean');
  const l = result.layer_arrangement;
  assert.ok(l);
  assert.deepEqual(l.pairs.map((p) => p.reader), ['0.mlp', '1.attn', '1.mlp']);
  assert.ok(l.sentences.length >= 2);
});

test('mixing before its constraint: mHC-lite over the causal part\'s tokens, column sums exactly 1, entropy in [0, 1]', () => {
  const p = result.pre_constraint;
  assert.ok(p, result.notes.join('; '));
  assert.equal(p.connection, 'mhc-lite');
  assert.equal(p.tokens, result.causal?.tokens);
  assert.deepEqual(p.modules, ['0.attn', '0.mlp', '1.attn', '1.mlp']);
  assert.ok(p.nu && p.nu.over === 'permutation_logits' && p.nu.entries === 24);
  assert.equal(p.nu.histogram.counts.reduce((a, b) => a + b, 0), p.tokens * 4);
  assert.ok(p.column_sums.max_abs_deviation < 1e-5 && p.product_column_sums.max_abs_deviation < 1e-5);
  assert.equal(p.column_sums.per_column.length, 4);
  assert.ok(p.permutations && p.permutations.entropy.min >= 0 && p.permutations.entropy.max <= 1);
  assert.ok(p.permutations.identity_top_share >= 0 && p.permutations.identity_top_share <= 1);
});

test('a capture whose run is gone: the causal part is skipped and says why', () => {
  const moved = editedCapture(acts, path.join(dir, 'acts-norun'), (m) => {
    m.run = path.join(dir, 'gone');
  });
  const out = path.join(dir, 'd2.json');
  const r = cli(['diagnose', '--acts', moved, '--out', out, '--backend', 'wasm']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /causal part skipped/);
  const d = JSON.parse(fs.readFileSync(out, 'utf8')) as DiagnosticsResult;
  assert.equal(d.causal, null);
  assert.equal(d.pre_constraint, null);
  assert.ok(d.notes.some((n) => /causal part skipped: .*does not exist/.test(n)));
});

test('bad inputs exit 2: a run of another model, empty acts, an existing output, missing paths', () => {
  const other = path.join(dir, 'other');
  fs.mkdirSync(other);
  const cfg = path.join(other, 'config.json');
  fs.writeFileSync(cfg, JSON.stringify({ ...TINY_RUN, dModel: 16, steps: 1, evalInterval: 1, checkpointInterval: 1 }));
  assert.equal(cli(['train', '--config', cfg, '--out', path.join(other, 'run')]).status, 0);
  const out = path.join(dir, 'never.json');
  const mismatch = cli(['diagnose', '--acts', acts, '--run', path.join(other, 'run'), '--out', out, '--backend', 'wasm']);
  assert.equal(mismatch.status, 2);
  assert.match(mismatch.stderr, /does not match the activations .*d 16.*is not the captured one .*d 32/);
  const empty = editedCapture(acts, path.join(dir, 'empty'), (m) => {
    m.tokens = 0;
    m.shards = [];
  });
  const e = cli(['diagnose', '--acts', empty, '--out', out, '--backend', 'wasm']);
  assert.equal(e.status, 2);
  assert.match(e.stderr, /are empty/);
  const exists = cli(['diagnose', '--acts', acts, '--out', path.join(dir, 'diagnostics.json')]);
  assert.equal(exists.status, 2);
  assert.match(exists.stderr, /already exists; pass --force/);
  const noActs = cli(['diagnose', '--acts', path.join(dir, 'nope'), '--out', out]);
  assert.equal(noActs.status, 2);
  const noRun = cli(['diagnose', '--acts', acts, '--run', path.join(dir, 'nope'), '--out', out]);
  assert.equal(noRun.status, 2);
  assert.match(noRun.stderr, /run ".*nope" does not exist/);
  assert.equal(fs.existsSync(out), false);
});
