// Resumed capture = uninterrupted capture (issue 4, §3–4): a capture stopped at a chosen point
// (its progress callback throws after N sequences, between two batches as a kill would find it),
// resumed, stopped again and resumed to the end, leaves byte-identical shards and manifest,
// keeps the shards it had recorded, and removes the temporaries a kill leaves. Shards close at
// the size limit; the manifest's rows and sizes are those of the files. No timing, no polling.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import * as A from 'apache-arrow';
import { type CaptureOptions, capture } from '../../src/capture/capture.ts';
import { readManifest } from '../../src/capture/read.ts';
import type { Manifest, ShardRecord } from '../../src/capture/schema.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { listFiles, runCaptureOptions, sha256, tempDir, trainSmall } from './helpers.ts';

const SHARD_MB = 1;
const BATCH = 8;
/** 625 sequences; resid_post rows are about 550 bytes: some 11 shards of 1 MiB for each of 4 streams. */
const TOKENS = 20000;
/** Where the capture is stopped: sequences done, then (resumed) done again. */
const STOPS = [160, 400];

const isShard = (f: string) => /part-\d{5}\.arrow$/.test(f);
const STATE = '.capture-state.json';

class Stop extends Error {}

/** Each named shard exists, has the recorded size, and holds the recorded rows. */
function assertShardsComplete(dir: string, shards: ShardRecord[]): void {
  for (const s of shards) {
    const file = path.join(dir, s.path);
    assert.ok(fs.existsSync(file), `${s.path} is named but missing`);
    assert.equal(fs.statSync(file).size, s.bytes, `${s.path}: size`);
    assert.equal(A.tableFromIPC(fs.readFileSync(file)).numRows, s.rows, `${s.path}: rows`);
  }
}

/**
 * tokens.arrow's rows. Its text column is dictionary-encoded, and Arrow JS numbers dictionaries
 * per process, so two captures in one process differ in that id alone (across processes, as the
 * CLI runs them, the bytes are equal).
 */
const tokenTable = (acts: string) => {
  const t = A.tableFromIPC(fs.readFileSync(path.join(acts, 'tokens.arrow')));
  return { id: [...(t.getChild('id')?.toArray() ?? [])], text: [...(t.getChild('text') ?? [])] };
};

const recordedShards = (acts: string) => (JSON.parse(fs.readFileSync(path.join(acts, STATE), 'utf8')) as { shards: ShardRecord[] }).shards;

test('capture: stopped mid-way and resumed equals uninterrupted; shards close at the size limit', async (t) => {
  const dir = tempDir(t);
  const run = await trainSmall(path.join(dir, 'run'));
  await initBackend('wasm');
  const base = runCaptureOptions(t, run);
  const options = (out: string, resume: boolean): CaptureOptions => ({
    ...base,
    split: 'val', tokens: TOKENS, sites: ['resid_post', 'coeffs'], layers: [0, 1], dtype: 'float32',
    batch: BATCH, shardBytes: SHARD_MB * 1024 * 1024, out, resume, command: ['capture', '--run', run],
  });
  const whole = path.join(dir, 'whole');
  await capture(options(whole, false));
  const m: Manifest = readManifest(whole);

  await t.test('shards close at the limit; manifest rows and bytes are those of the files', () => {
    const limit = SHARD_MB * 1024 * 1024;
    assertShardsComplete(whole, m.shards);
    const onDisk = [...listFiles(whole).keys()].filter(isShard).sort();
    assert.deepEqual(m.shards.map((s) => s.path).sort(), onDisk, 'the manifest names every shard file');
    for (const site of m.sites) {
      for (const layer of m.layers) {
        for (const module of m.modules) {
          const shards = m.shards.filter((s) => s.site === site && s.layer === layer && s.module === module).sort((a, b) => a.part - b.part);
          const widths = site === 'coeffs' ? 2 * m.n_streams + m.n_streams ** 2 : m.n_streams * m.d_model;
          // int32 seq, pos, token and labels, a validity bit per label, float32 values.
          const rowBytes = 4 * (3 + m.labels.length) + Math.ceil(m.labels.length / 8) + 4 * widths;
          const oneBatch = BATCH * m.seq_len * rowBytes + 16 * 1024; // + message headers, padding, footer
          assert.deepEqual(shards.map((s) => s.part), shards.map((_, i) => i), 'parts are numbered from 0');
          assert.equal(shards[0]?.firstSeq, 0);
          assert.equal(shards.at(-1)?.endSeq, m.sequences);
          shards.forEach((s, i) => {
            assert.ok(s.bytes <= limit + oneBatch, `${s.path}: ${s.bytes} bytes exceed the limit by more than one batch`);
            if (i < shards.length - 1) {
              assert.ok(s.bytes >= limit, `${s.path}: closed at ${s.bytes} bytes, before the limit`);
              assert.equal(shards[i + 1]?.firstSeq, s.endSeq, 'shards are contiguous');
            }
            assert.equal(s.rows, (s.endSeq - s.firstSeq) * m.seq_len);
          });
          if (site === 'resid_post') assert.ok(shards.length >= 5, `${site}: several shards (${shards.length})`);
          assert.equal(shards.reduce((a, s) => a + s.rows, 0), m.tokens);
        }
      }
    }
  });

  await t.test(`stopped after ${STOPS.join(' and ')} sequences, resumed each time: identical bytes, recorded shards untouched`, async () => {
    const acts = path.join(dir, 'acts');
    const kept = new Map<string, fs.Stats>();
    for (const [i, stop] of STOPS.entries()) {
      const stopAt = (done: number) => {
        if (done >= stop) throw new Stop(`stopped at ${done}`);
      };
      await assert.rejects(capture(options(acts, i > 0), stopAt), Stop);
      assert.ok(!fs.existsSync(path.join(acts, 'manifest.json')), 'stopped before the manifest');
      const recorded = recordedShards(acts);
      assertShardsComplete(acts, recorded);
      // A shard is recorded once complete, and is the uninterrupted capture's shard to the byte.
      for (const s of recorded) {
        assert.deepEqual(s, m.shards.find((w) => w.path === s.path), `${s.path}: record`);
        assert.equal(sha256(path.join(acts, s.path)), sha256(path.join(whole, s.path)), `${s.path}: bytes`);
      }
      assert.ok(recorded.length > kept.size, `stop ${stop}: more shards recorded (${recorded.length})`);
      assert.ok(recorded.length < m.shards.length, `stop ${stop}: shards were left to do`);
      for (const [f, st] of kept) assert.equal(fs.statSync(path.join(acts, f)).ino, st.ino, `${f} was rewritten`);
      for (const s of recorded) if (!kept.has(s.path)) kept.set(s.path, fs.statSync(path.join(acts, s.path)));
    }
    // What a kill -9 leaves besides: a shard and a manifest under their temporary names.
    const shardTemp = path.join(acts, 'site=resid_post', 'layer=1', 'module=mlp', 'part-00010.arrow.tmp-424242');
    fs.writeFileSync(shardTemp, 'partial');
    fs.writeFileSync(path.join(acts, 'manifest.json.tmp-424242-0a1b'), '{"format_');

    await capture(options(acts, true));
    const a = listFiles(whole);
    const b = listFiles(acts);
    assert.deepEqual([...b.keys()], [...a.keys()], 'same files, no .tmp- left');
    for (const f of a.keys()) {
      if (f === 'tokens.arrow') assert.deepEqual(tokenTable(acts), tokenTable(whole), 'tokens.arrow');
      else assert.equal(sha256(path.join(acts, f)), sha256(path.join(whole, f)), `${f} differs`);
    }
    assertShardsComplete(acts, readManifest(acts).shards);
    for (const [f, st] of kept) {
      const now = fs.statSync(path.join(acts, f));
      assert.equal(now.ino, st.ino, `${f} was rewritten`);
      assert.equal(now.mtimeMs, st.mtimeMs, `${f} was rewritten`);
    }
  });
});
