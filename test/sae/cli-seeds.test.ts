// `hcprobe sae --seeds` end to end: one concat SAE per seed, the attribution summary per seed and
// across seeds in summary.json, the new evidence metrics in every metrics.json; bad values exit 2.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { SaeMetricsFile, SaeSummary } from '../../sae/results-schema.ts';
import { cli, cliOk, smallCapture, tempDir } from './helpers.ts';

const read = <T>(p: string) => JSON.parse(fs.readFileSync(p, 'utf8')) as T;

test('hcprobe sae --seeds 3,5 (concat): per-seed attribution, spread and stability; KL, shrinkage, near-duplicates', async (t) => {
  const dir = tempDir(t);
  const acts = await smallCapture(dir);
  const out = path.join(dir, 'sae');
  const base = ['sae', '--acts', acts, '--out', out, '--tokens', '4096', '--batch', '512', '--expansion', '2', '--k', '8', '--eval-tokens', '512', '--features', '4', '--layers', '1', '--backend', 'wasm'];
  cliOk([...base, '--mode', 'concat', '--seeds', '3,5']);
  const s = read<SaeSummary>(path.join(out, 'concat', 'summary.json'));
  assert.equal(s.seed, 3);
  const st = s.seed_stability?.[0];
  assert.ok(st, 'seed_stability is written');
  assert.deepEqual(st.seeds, [3, 5]);
  assert.deepEqual(st.per_seed.map((x) => x.path), ['layer=1', 'seeds/seed=5/layer=1']);
  for (const x of st.per_seed) {
    assert.equal(x.top_stream.length, 4);
    assert.ok(Math.abs(x.top_stream.reduce((a, b) => a + b, 0) - 1) < 1e-9);
    assert.ok(x.mean_top_share >= 0.25 && x.mean_top_share <= 1);
  }
  for (let i = 0; i < 4; i++) {
    const v = st.per_seed.map((x) => x.top_stream[i] as number);
    assert.ok(Math.abs((st.top_stream[i]?.mean as number) - (v[0] as number + (v[1] as number)) / 2) < 1e-12);
    assert.ok(Math.abs((st.top_stream[i]?.std as number) - Math.abs((v[0] as number) - (v[1] as number)) / Math.SQRT2) < 1e-12);
  }
  assert.equal(st.stable, st.per_seed[0]?.majority === st.per_seed[1]?.majority);
  const m = read<SaeMetricsFile>(path.join(out, 'concat', 'seeds', 'seed=5', 'layer=1', 'metrics.json'));
  assert.ok(fs.existsSync(path.join(out, 'concat', 'seeds', 'seed=5', 'layer=1', 'sae.safetensors')));
  assert.ok(m.eval.ce?.kl !== undefined && m.eval.ce.kl > 0, `KL ${m.eval.ce?.kl}`);
  assert.ok((m.eval.shrinkage as number) > 0.3 && (m.eval.shrinkage as number) < 1.5, `shrinkage ${m.eval.shrinkage}`);
  assert.ok(m.eval.decoder && m.eval.decoder.near_duplicate >= 0 && m.eval.decoder.mean_max_cos <= 1);

  for (const bad of [['--mode', 'concat', '--seeds', '4'], ['--mode', 'concat', '--seeds', '1,1'], ['--mode', 'concat', '--seeds', '0,x'], ['--mode', 'per-stream', '--seeds', '0,1'], ['--mode', 'concat', '--kind', 'topk', '--decoder-penalty', 'stream-norms'], ['--mode', 'concat', '--kind', 'matryoshka', '--prefixes', '8,4,256']]) {
    const r = cli([...base, ...bad, '--out', path.join(dir, 'bad')]);
    assert.equal(r.status, 2, `${bad.join(' ')}: ${r.stderr}`);
    assert.equal(fs.existsSync(path.join(dir, 'bad')), false);
  }
});
