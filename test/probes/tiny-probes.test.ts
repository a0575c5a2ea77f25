// `hcprobe probe` end to end on a tiny model trained on the synthetic corpus: planted labels
// beat chance clearly and beat their control task, shuffled labels score chance, and every
// bad input exits 2.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { PROBE_DEFAULTS } from '../../probes/linear-probes.ts';
import { loadStreamSite } from '../../probes/load-site.ts';
import { prepareFeatures, probeFeatures } from '../../probes/probe-features.ts';
import type { ProbesResult } from '../../probes/results-schema.ts';
import { splitBySequence } from '../../probes/sequence-split.ts';
import { readManifest } from '../../src/capture/read.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { rngFromState } from '../../src/engine/random.ts';
import { cli, editedCapture, tempDir, trainAndCapture } from './helpers.ts';

let dir = '';
let acts = '';
let result: ProbesResult;

before(async (t) => {
  dir = tempDir(t as unknown as { after(fn: () => void): void });
  ({ acts } = trainAndCapture(dir, 'resid_post,coeffs', 8192));
  const out = path.join(dir, 'probes.json');
  const r = cli(['probe', '--acts', acts, '--out', out, '--labels', 'pos,topic', '--layers', '1', '--modules', 'mlp', '--max-tokens', 'all', '--workers', '2']);
  assert.equal(r.status, 0, r.stderr);
  result = JSON.parse(fs.readFileSync(out, 'utf8')) as ProbesResult;
  await initBackend('wasm');
});

test('probes.json: schema version, one record per label × stream (4 streams and their sum)', () => {
  assert.equal(result.schema_version, 1);
  assert.equal(result.kind, 'probes');
  assert.deepEqual(result.labels.map((l) => l.name), ['pos', 'topic']);
  assert.equal(result.probes.length, 2 * 5);
  assert.deepEqual([...new Set(result.probes.map((p) => p.stream))], [0, 1, 2, 3, 'sum']);
  for (const p of result.probes) {
    assert.equal(p.site, 'resid_post');
    assert.equal(p.layer, 1);
    assert.equal(p.module, 'mlp');
    for (const v of [p.accuracy, p.control_accuracy, p.chance]) assert.ok(v >= 0 && v <= 1);
    assert.ok(Math.abs(p.selectivity - (p.accuracy - p.control_accuracy)) < 1e-12);
    assert.ok(PROBE_DEFAULTS.l2Grid.includes(p.l2) && PROBE_DEFAULTS.l2Grid.includes(p.control_l2));
    assert.ok(p.n_train > 1000 && p.n_test > 300, `n ${p.n_train}/${p.n_test}`);
  }
  const s = result.split.sequences;
  assert.equal(s.train + s.val + s.test, 8192 / 32);
});

test('worker threads change nothing: --workers 0 (main thread only) gives the records of --workers 2', () => {
  const out = path.join(dir, 'probes-serial.json');
  const r = cli(['probe', '--acts', acts, '--out', out, '--labels', 'pos,topic', '--layers', '1', '--modules', 'mlp', '--max-tokens', 'all', '--workers', '0']);
  assert.equal(r.status, 0, r.stderr);
  const serial = JSON.parse(fs.readFileSync(out, 'utf8')) as ProbesResult;
  assert.deepEqual(serial.probes, result.probes);
  assert.deepEqual(serial.skipped, result.skipped);
});

test('part of speech: far above the majority rate and above its control task', () => {
  for (const p of result.probes.filter((x) => x.label === 'pos')) {
    assert.ok(p.accuracy > p.chance + 0.5, `pos stream ${p.stream}: accuracy ${p.accuracy}, chance ${p.chance}`);
    // The control task is learnable from token identity alone (194 types), so it sits well
    // above chance; the real task still beats it.
    assert.ok(p.selectivity > 0.15, `pos stream ${p.stream}: selectivity ${p.selectivity}`);
    assert.ok(p.control_accuracy < 0.9);
  }
  const topic = result.probes.filter((x) => x.label === 'topic');
  assert.ok(topic.some((p) => p.accuracy > p.chance + 0.02), `topic: ${JSON.stringify(topic.map((p) => [p.accuracy, p.chance, p.l2, p.control_accuracy, p.n_train]))}`);
});

test('shuffled labels score the majority rate', async () => {
  const m = readManifest(acts);
  const data = await loadStreamSite(acts, m, 'resid_post', 1, 'mlp', ['pos']);
  const y = data.labels.get('pos') as Int32Array;
  const rows = Array.from(y.keys()).filter((r) => (y[r] as number) >= 0);
  const values = rows.map((r) => y[r] as number);
  const rng = rngFromState(4);
  for (let i = values.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [values[i], values[j]] = [values[j] as number, values[i] as number];
  }
  const shuffled = new Int32Array(y.length).fill(-1);
  rows.forEach((r, i) => (shuffled[r] = values[i] as number));
  const split = splitBySequence(data.seq, PROBE_DEFAULTS.split, 0);
  const features = prepareFeatures(data.streams[0] as Float32Array, data.dModel, split);
  const [real, noise] = probeFeatures(features, [{ name: 'pos', nClasses: 9, y }, { name: 'shuffled', nClasses: 9, y: shuffled }], PROBE_DEFAULTS.l2Grid);
  assert.ok(real?.ok && noise?.ok);
  assert.ok(real.accuracy > real.chance + 0.5);
  assert.ok(Math.abs(noise.accuracy - noise.chance) < 0.03, `shuffled: accuracy ${noise.accuracy}, chance ${noise.chance}`);
});

test('refuses to overwrite without --force; overwrites with it', () => {
  const out = path.join(dir, 'probes.json');
  const before_ = fs.readFileSync(out, 'utf8');
  const r = cli(['probe', '--acts', acts, '--out', out, '--labels', 'copy', '--layers', '0', '--modules', 'attn']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /already exists; pass --force/);
  assert.equal(fs.readFileSync(out, 'utf8'), before_);
  const f = cli(['probe', '--acts', acts, '--out', out, '--labels', 'copy', '--layers', '0', '--modules', 'attn', '--max-tokens', '2048', '--force']);
  assert.equal(f.status, 0, f.stderr);
  assert.deepEqual((JSON.parse(fs.readFileSync(out, 'utf8')) as ProbesResult).labels.map((l) => l.name), ['copy']);
});

test('bad inputs exit 2 with a message that names them', () => {
  const out = path.join(dir, 'never.json');
  const cases: [string[], RegExp][] = [
    [['--labels', 'pos,colour'], /label "colour" is not in .* \(available: topic, pos, number, pending_number, depth, parity, copy\)/],
    [['--sites', 'resid_pre'], /site "resid_pre" was not captured .*\(captured: resid_post\)/],
    [['--sites', 'nowhere'], /--sites: unknown site "nowhere"/],
    [['--layers', '7'], /layer 7 was not captured/],
    [['--max-tokens', '0'], /--max-tokens must be an integer ≥ 1/],
  ];
  for (const [flags, message] of cases) {
    const r = cli(['probe', '--acts', acts, '--out', out, ...flags]);
    assert.equal(r.status, 2, `${flags.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  const missing = cli(['probe', '--acts', path.join(dir, 'nothing-here'), '--out', out]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /does not exist/);
  const empty = editedCapture(acts, path.join(dir, 'empty-acts'), (m) => {
    m.tokens = 0;
    m.shards = [];
  });
  const e = cli(['probe', '--acts', empty, '--out', out]);
  assert.equal(e.status, 2);
  assert.match(e.stderr, /are empty/);
  assert.equal(fs.existsSync(out), false);
});
