// `--checkpoints` end to end on a tiny LSS run with three checkpoints: capture, diagnose, probe and
// sae per checkpoint into checkpoints/step-XXXXXX/, refusal to overwrite without --force, exit 2
// naming a bad value, and a report whose "Over training" section draws the timeline.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { cli, snapshot, TINY, tempDir, writeJson } from '../train/helpers.ts';

const STEPS = ['step-000010', 'step-000020', 'step-000030'];

test('capture/diagnose/probe/sae --checkpoints, then the report draws the timeline', (t) => {
  const root = tempDir(t, 'hcprobe-over-training-');
  const cfg = writeJson(path.join(root, 'cfg.json'), { ...TINY, connection: 'mhc-lite', streamInit: 'lss', streams: 4, steps: 30, logInterval: 5, evalInterval: 30, backend: 'wasm' });
  const run = path.join(root, 'runs', 'r');
  const acts = path.join(root, 'acts', 'r');
  const results = path.join(root, 'results', 'r');
  const ok = (args: string[]) => {
    const r = cli(args);
    assert.equal(r.status, 0, `hcprobe ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  ok(['train', '--config', cfg, '--out', run, '--checkpoint-interval', '10']);

  const bad = cli(['capture', '--run', run, '--out', acts, '--checkpoints', '10,x']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--checkpoints .*"10,x"/);
  const absent = cli(['capture', '--run', run, '--out', acts, '--checkpoints', '10,50']);
  assert.equal(absent.status, 2);
  assert.match(absent.stderr, /step 50 is not in .*steps there: 10, 20, 30/);
  assert.ok(!fs.existsSync(acts), 'nothing captured before the check');

  const cap = ok(['capture', '--run', run, '--out', acts, '--checkpoints', 'all', '--tokens', '512', '--sites', 'resid_post,coeffs', '--backend', 'wasm']);
  assert.match(cap.stderr, /\[checkpoint 3\/3\] step 30/);
  assert.deepEqual(fs.readdirSync(path.join(acts, 'checkpoints')).sort(), STEPS);
  for (const s of STEPS) {
    const m = JSON.parse(fs.readFileSync(path.join(acts, 'checkpoints', s, 'manifest.json'), 'utf8')) as { checkpoint: string };
    assert.equal(path.basename(m.checkpoint), `${s}.safetensors`, 'each capture names its own checkpoint');
  }

  const diagOut = path.join(results, 'diagnostics.json');
  ok(['diagnose', '--acts', acts, '--out', diagOut, '--checkpoints', 'all']);
  for (const s of STEPS) {
    const d = JSON.parse(fs.readFileSync(path.join(results, 'checkpoints', s, 'diagnostics.json'), 'utf8')) as { causal: unknown; coefficients: unknown[]; acts: string };
    assert.equal(d.causal, null, 'the causal part is off by default per checkpoint');
    assert.equal(d.coefficients.length, 2);
    assert.equal(d.acts, path.join(acts, 'checkpoints', s));
  }
  assert.ok(!fs.existsSync(diagOut), 'the single-checkpoint output is not written');
  const before = snapshot(results);
  const again = cli(['diagnose', '--acts', acts, '--out', diagOut, '--checkpoints', '10,20']);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /step-000010.*already exists; pass --force/);
  assert.deepEqual(snapshot(results), before, 'nothing was touched');
  const missing = cli(['diagnose', '--acts', acts, '--out', diagOut, '--checkpoints', '40', '--force']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /step 40 is not in/);

  ok(['probe', '--acts', acts, '--out', path.join(results, 'probes.json'), '--checkpoints', '10,30', '--labels', 'pos', '--max-tokens', '512', '--l2', '0.01']);
  assert.ok(fs.existsSync(path.join(results, 'checkpoints', 'step-000030', 'probes.json')));
  assert.ok(!fs.existsSync(path.join(results, 'checkpoints', 'step-000020', 'probes.json')));
  ok(['sae', '--acts', acts, '--out', path.join(results, 'sae'), '--checkpoints', '30', '--mode', 'concat', '--tokens', '1024', '--batch', '256', '--expansion', '2', '--k', '8', '--eval-tokens', '256', '--features', '2']);
  assert.ok(fs.existsSync(path.join(results, 'checkpoints', 'step-000030', 'sae', 'concat', 'summary.json')));

  const out = path.join(root, 'report.html');
  const rep = ok(['report', '--run', run, '--out', out]);
  assert.match(rep.stderr, /checkpoints\/ \(3 steps\)/);
  const html = fs.readFileSync(out, 'utf8');
  assert.match(html, /id="over-training"/);
  assert.match(html, /Over training/);
  for (const f of ['timeline-dominance', 'timeline-identity', 'timeline-probe-0', 'timeline-sae', 'timeline-sae-shares', 'lss-norms', 'lss-spread']) assert.ok(fs.existsSync(path.join(root, 'report_files', `${f}.svg`)), f);
  assert.equal((html.match(/<tr><td>(10|20|30)<\/td>/g) ?? []).length, 3, 'one timeline row per checkpoint');
});
