// Resumed capture = uninterrupted capture (issue 4, §3–4): a capture SIGKILLed once it has
// recorded a complete shard, and run again with --resume, leaves byte-identical shards and
// manifest, skips the shards it had recorded, and never names a missing or partial shard. Shards close
// at the size limit, and the manifest's row counts and sizes are those of the files.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import * as A from 'apache-arrow';
import { readManifest } from '../../src/capture/read.ts';
import type { Manifest, ShardRecord } from '../../src/capture/schema.ts';
import { killWhen } from '../train/helpers.ts';
import { cliOk, listFiles, tempDir, trainSmall } from './helpers.ts';

const SHARD_MB = 1;
const BATCH = 8;
/** resid_post rows are about 550 bytes: some 11 shards of 1 MiB for each of 4 streams. */
const ARGS = ['capture', '--run', 'run', '--tokens', '20000', '--sites', 'resid_post,coeffs', '--shard-mb', String(SHARD_MB), '--batch', String(BATCH), '--backend', 'wasm', '--out', 'acts'];

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const isShard = (f: string) => /part-\d{5}\.arrow$/.test(f);
const STATE = '.capture-state.json';

/**
 * Starts the capture in `cwd` and SIGKILLs it as soon as its state file (written atomically
 * after each completed shard) exists: at least one shard is then complete and recorded.
 */
function captureAndKill(cwd: string): Promise<{ signal: NodeJS.Signals | null; seen: true | undefined }> {
  return killWhen(ARGS, cwd, () => (fs.existsSync(path.join(cwd, 'acts', STATE)) ? true : undefined));
}

/** Each named shard exists, has the recorded size, and holds the recorded rows. */
function assertShardsComplete(dir: string, shards: ShardRecord[]): void {
  for (const s of shards) {
    const file = path.join(dir, s.path);
    assert.ok(fs.existsSync(file), `${s.path} is named but missing`);
    assert.equal(fs.statSync(file).size, s.bytes, `${s.path}: size`);
    assert.equal(A.tableFromIPC(fs.readFileSync(file)).numRows, s.rows, `${s.path}: rows`);
  }
}

test('capture: killed mid-way and resumed equals uninterrupted; shards close at the size limit', async (t) => {
  const dir = tempDir(t);
  await trainSmall(path.join(dir, 'run'));
  cliOk(ARGS, dir);
  fs.renameSync(path.join(dir, 'acts'), path.join(dir, 'whole'));
  const whole = path.join(dir, 'whole');
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

  await t.test('SIGKILL after the first shard, then --resume: identical bytes, finished shards untouched', async () => {
    const acts = path.join(dir, 'acts');
    const killed = await captureAndKill(dir);
    assert.equal(killed.signal, 'SIGKILL');
    assert.ok(killed.seen, 'the capture recorded a shard before it was killed');
    assert.ok(!fs.existsSync(path.join(acts, 'manifest.json')), 'killed before the manifest: the capture was mid-way');
    // The record names only complete shards; shards renamed but not yet recorded are redone.
    const recorded = (JSON.parse(fs.readFileSync(path.join(acts, STATE), 'utf8')) as { shards: ShardRecord[] }).shards;
    assert.ok(recorded.length > 0);
    assertShardsComplete(acts, recorded);
    assert.ok(recorded.length < m.shards.length, 'shards were left to do');
    const before = new Map(recorded.map((s) => [s.path, fs.statSync(path.join(acts, s.path))]));

    const inspect = cliOk(['capture', ...ARGS.slice(1), '--resume'], dir);
    assert.equal(inspect.status, 0);

    const a = listFiles(whole);
    const b = listFiles(acts);
    assert.deepEqual([...b.keys()], [...a.keys()], 'same files, no .tmp- left');
    assert.ok(![...b.keys()].some((f) => f.includes('.tmp-')));
    for (const f of a.keys()) assert.equal(sha256(path.join(acts, f)), sha256(path.join(whole, f)), `${f} differs`);
    const resumed = readManifest(acts);
    assertShardsComplete(acts, resumed.shards);
    for (const [f, st] of before) {
      const now = fs.statSync(path.join(acts, f));
      assert.equal(now.ino, st.ino, `${f} was rewritten`);
      assert.equal(now.mtimeMs, st.mtimeMs, `${f} was rewritten`);
    }
  });
});
