// A second Arrow implementation reads our files (issue 4, §6): nodejs-polars (Rust arrow) gets
// the same seq, pos, token, label (nulls included) and value columns as our reader, from every
// stream of one site, and tokens.arrow maps each id to the tokenizer's text.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import pl from 'nodejs-polars';
import { concatArrays, floatColumn, intColumn, readManifest } from '../../src/capture/read.ts';
import type { CaptureSite } from '../../src/capture/schema.ts';
import { corpusFor } from '../../src/train/session.ts';
import type { TrainConfig } from '../../src/train/train-config.ts';
import { allBatches, cliOk, tempDir, trainSmall } from './helpers.ts';

/** Polars' view of a list column: its values flattened, as float32 like ours. */
function polarsFloats(df: pl.DataFrame, name: string): Float32Array {
  return Float32Array.from(df.select(pl.col(name).explode()).getColumn(name).toArray() as number[]);
}

/** Polars' int column with nulls as −1, like intColumn. */
function polarsInts(df: pl.DataFrame, name: string): Int32Array {
  return Int32Array.from(df.getColumn(name).toArray() as (number | null)[], (v) => (v === null ? -1 : v));
}

test('capture: nodejs-polars reads our shards and gets the same values', async (t) => {
  const dir = tempDir(t);
  const run = await trainSmall(path.join(dir, 'run'));
  const acts = path.join(dir, 'acts');
  // 40 sequences in batches of 8, two shards of 0.5 MiB or so for resid_post: several batches a file.
  cliOk(['capture', '--run', run, '--out', acts, '--tokens', '1280', '--sites', 'resid_post,branch_out,coeffs', '--batch', '8', '--backend', 'wasm']);
  const m = readManifest(acts);

  for (const site of ['resid_post', 'branch_out', 'coeffs'] as CaptureSite[]) {
    await t.test(`${site}: every column of layer 1 mlp`, async () => {
      const shards = m.shards.filter((s) => s.site === site && s.layer === 1 && s.module === 'mlp');
      assert.equal(shards.length, 1);
      const shard = shards[0] as (typeof shards)[number];
      assert.equal(shard.path, `site=${site}/layer=1/module=mlp/part-00000.arrow`);
      const df = pl.readIPC(fs.readFileSync(path.join(acts, shard.path)));
      const ours = await allBatches(acts, m, { site, layer: 1, module: 'mlp' });
      assert.ok(ours.length > 1, 'several record batches in the file');
      assert.equal(df.height, m.tokens);
      const names = ours[0]?.schema.fields.map((f) => f.name) ?? [];
      assert.deepEqual(df.columns, names);
      const labels = m.labels.map((l) => `label_${l.name}`);
      for (const name of ['seq', 'pos', 'token', ...labels]) {
        assert.deepEqual(polarsInts(df, name), concatArrays(ours.map((b) => intColumn(b, name)), (k) => new Int32Array(k)), name);
      }
      assert.ok(labels.some((l) => df.getColumn(l).nullCount() > 0), 'polars sees the not-applicable labels as nulls');
      const values = site === 'coeffs' ? ['read', 'mixing', 'write'] : Array.from({ length: m.n_streams }, (_, i) => `stream_${i}`);
      for (const name of values) {
        const theirs = polarsFloats(df, name);
        const mine = concatArrays(ours.map((b) => floatColumn(b, name)), (k) => new Float32Array(k));
        assert.equal(theirs.length, mine.length, name);
        assert.ok(Buffer.from(theirs.buffer).equals(Buffer.from(mine.buffer)), `${name}: polars and our reader differ`);
        assert.ok(mine.some((v) => v !== 0), `${name} is not all zero`);
      }
    });
  }

  await t.test('tokens.arrow maps every id to its text', () => {
    const df = pl.readIPC(fs.readFileSync(path.join(acts, 'tokens.arrow')));
    const cfg = JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8')) as TrainConfig;
    const tokenizer = corpusFor(cfg, m.model.vocabSize).tokenizer;
    assert.equal(df.height, m.model.vocabSize);
    assert.deepEqual(polarsInts(df, 'id'), Int32Array.from({ length: df.height }, (_, i) => i));
    const text = df.getColumn('text').toArray() as string[];
    text.forEach((s, id) => assert.equal(s, id < tokenizer.vocabSize ? tokenizer.tokenText(id) : '', `id ${id}`));
    assert.ok(new Set(text).size > 100, 'distinct token texts');
  });
});
