// The connection kinds of issue 18 end to end, as a user runs them: train a few steps, capture,
// diagnose; capture's manifest records each stream's width; sites a kind lacks are refused
// (exit 2) or left out of the defaults; bad stream counts exit 2; sweep grids take the kinds.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseSweepGrid, sweepCells } from '../../cli/commands/sweep.ts';
import { cli, tempDir, writeJson } from '../train/helpers.ts';

/** 1 layer, d 32, 3 steps: each command runs in about a second. */
const CONFIG = { layers: 1, dModel: 32, heads: 2, seqLen: 32, batchSize: 4, steps: 3, logInterval: 1, evalInterval: 3, evalBatches: 1, checkpointInterval: 3, workers: 0 };

const KINDS: { kind: string; streams: number; width: number; sites: string[] }[] = [
  { kind: 'post-norm', streams: 1, width: 32, sites: ['resid_post'] },
  { kind: 'residual-dual', streams: 2, width: 32, sites: ['resid_post'] },
  { kind: 'altup', streams: 3, width: 32, sites: ['resid_post'] },
  { kind: 'frac', streams: 4, width: 8, sites: ['resid_post', 'coeffs'] },
];

function ok(r: { status: number | null; stderr: string }, what: string): void {
  assert.equal(r.status, 0, `${what}: ${r.stderr}`);
}

for (const k of KINDS) {
  test(`${k.kind}: train, capture and diagnose exit 0; the manifest records ${k.streams} streams of width ${k.width}`, (t) => {
    const dir = tempDir(t, 'hcprobe-kinds-');
    const cfg = writeJson(path.join(dir, 'c.json'), CONFIG);
    const run = path.join(dir, 'run');
    ok(cli(['train', '--config', cfg, '--connection', k.kind, '--streams', String(k.kind === 'altup' ? 3 : 4), '--out', run, '--backend', 'wasm']), 'train');
    const config = JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8'));
    assert.equal(JSON.stringify(config).includes(`"kind":"${k.kind}"`), true);
    const acts = path.join(dir, 'acts');
    ok(cli(['capture', '--run', run, '--tokens', '128', '--out', acts, '--backend', 'wasm']), 'capture');
    const m = JSON.parse(fs.readFileSync(path.join(acts, 'manifest.json'), 'utf8'));
    assert.deepEqual([m.n_streams, m.stream_width, m.d_model, m.sites], [k.streams, k.width, 32, k.sites]);
    const out = path.join(dir, 'diagnostics.json');
    ok(cli(['diagnose', '--acts', acts, '--out', out, '--eval-tokens', '128', '--rescue-tokens', '64', '--batch', '4', '--backend', 'wasm']), 'diagnose');
    const d = JSON.parse(fs.readFileSync(out, 'utf8'));
    const shares = d.streams[0].signal.shares as number[];
    assert.equal(shares.length, k.streams);
    assert.ok(Math.abs(shares.reduce((a, b) => a + b, 0) - 1) < 1e-6);
    // The readout applied after the last layer is the model's own: the lens of all streams is its loss.
    assert.ok(Math.abs(d.causal.logit_lens_sum.at(-1) - d.causal.loss) < 1e-4);
    assert.equal(d.causal.logit_lens[0].length, k.streams);
  });
}

test('sites a kind lacks exit 2 naming the site and the kind', (t) => {
  const dir = tempDir(t, 'hcprobe-kinds-');
  const cfg = writeJson(path.join(dir, 'c.json'), CONFIG);
  const run = path.join(dir, 'run');
  ok(cli(['train', '--config', cfg, '--connection', 'altup', '--streams', '2', '--out', run, '--backend', 'wasm']), 'train');
  for (const site of ['coeffs', 'branch_in']) {
    const r = cli(['capture', '--run', run, '--tokens', '64', '--sites', site, '--out', path.join(dir, site), '--backend', 'wasm']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`capture site ${site} is not available: connection altup`));
  }
});

test('bad stream counts for the new kinds exit 2 naming the value; hc trains at n = 8', (t) => {
  const dir = tempDir(t, 'hcprobe-kinds-');
  const cfg = writeJson(path.join(dir, 'c.json'), CONFIG);
  const frac = cli(['train', '--config', cfg, '--connection', 'frac', '--streams', '3', '--out', path.join(dir, 'f'), '--backend', 'wasm']);
  assert.equal(frac.status, 2, frac.stderr);
  assert.match(frac.stderr, /dModel \(32\) must be divisible by nStreams \(3\)/);
  const alt = cli(['train', '--config', cfg, '--connection', 'altup', '--streams', '9', '--out', path.join(dir, 'a'), '--backend', 'wasm']);
  assert.equal(alt.status, 2, alt.stderr);
  assert.match(alt.stderr, /--streams.*9/);
  const run = path.join(dir, 'hc8');
  ok(cli(['train', '--config', cfg, '--connection', 'hc', '--streams', '8', '--out', run, '--backend', 'wasm']), 'hc n 8');
  assert.equal(JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8')).model.nStreams, 8);
});

test('sweep grids accept the new kinds; those without a stream init get one cell', () => {
  const g = parseSweepGrid({ connections: ['post-norm', 'residual-dual', 'altup', 'frac', 'hc'], streamInits: ['copy', 'lss'], seeds: [1, 2, 3], config: { streams: 8 } }, 'grid.json');
  assert.deepEqual(sweepCells(g).map((c) => c.cell), ['post-norm', 'residual-dual', 'altup-copy', 'altup-lss', 'frac', 'hc-copy', 'hc-lss']);
});
