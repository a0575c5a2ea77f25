// `hcprobe train` as a user runs it (issue 3, §1 and §5): every bad corpus and flag exits 2 with a
// message naming the value; an existing run is refused without --force and left untouched;
// --force replaces a run; --resume needs a checkpoint; help exits 0; a diverging run exits 3
// and keeps its last good checkpoint.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { readSafetensorsFile } from '../../src/io/safetensors.ts';
import { checkpointFiles, cli, metricsOf, snapshot, TINY, tempDir, writeJson } from '../train/helpers.ts';

/** `hcprobe train --config <tiny> --out <dir>/run ARGS`; the config's steps are cut to 10. */
function train(dir: string, args: string[], config: Record<string, unknown> = {}) {
  const cfg = writeJson(path.join(dir, 'tiny.json'), { ...TINY, steps: 10, ...config });
  return cli(['train', '--config', cfg, '--backend', 'wasm', ...args]);
}

function assertUsageError(r: { status: number | null; stderr: string; stdout: string }, ...parts: string[]): void {
  assert.equal(r.status, 2, `exit 2 expected; stderr: ${r.stderr}`);
  for (const p of parts) assert.ok(r.stderr.includes(p), `stderr names ${JSON.stringify(p)}: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /internal error/);
}

test('bad corpora exit 2 naming the file', async (t) => {
  const dir = tempDir(t, 'hcprobe-cli-');
  const empty = path.join(dir, 'empty.txt');
  fs.writeFileSync(empty, '');
  const latin1 = path.join(dir, 'latin1.txt');
  fs.writeFileSync(latin1, Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a])); // "café" in Latin-1
  const missing = path.join(dir, 'no-such-corpus.txt');
  await t.test('empty file', () => assertUsageError(train(dir, ['--corpus', empty, '--out', path.join(dir, 'r1')]), empty, 'empty'));
  await t.test('not UTF-8', () => assertUsageError(train(dir, ['--corpus', latin1, '--out', path.join(dir, 'r2')]), latin1, 'UTF-8', '0xe9', 'offset 3'));
  await t.test('missing path', () => assertUsageError(train(dir, ['--corpus', missing, '--out', path.join(dir, 'r3')]), missing));
  for (const r of ['r1', 'r2', 'r3']) assert.ok(!fs.existsSync(path.join(dir, r, 'metrics.jsonl')), `${r} wrote no metrics`);
});

test('bad flags exit 2 naming the value', (t) => {
  const dir = tempDir(t, 'hcprobe-cli-');
  const out = path.join(dir, 'run');
  assertUsageError(train(dir, ['--connection', 'bogus', '--out', out]), '--connection', 'bogus');
  assertUsageError(train(dir, ['--streams', '9', '--out', out]), '--streams', '9');
  assertUsageError(train(dir, ['--preset', 'huge', '--out', out]), '--preset', 'huge');
  assertUsageError(train(dir, ['--out', out], { learningRate: 1 }), 'learningRate');
  assertUsageError(cli(['train', '--preset', 'tiny']), '--out');
  assert.ok(!fs.existsSync(out));
});

test('an existing run is refused without --force and left unchanged; --force replaces it', (t) => {
  const dir = tempDir(t, 'hcprobe-cli-');
  const out = path.join(dir, 'run');
  const first = train(dir, ['--out', out, '--seed', '1'], { steps: 20 });
  assert.equal(first.status, 0, first.stderr);
  assert.deepEqual(checkpointFiles(out), ['step-000010.safetensors', 'step-000020.safetensors']);
  fs.writeFileSync(path.join(out, 'notes.txt'), 'mine');
  const before = snapshot(out);

  const refused = train(dir, ['--out', out, '--seed', '2']);
  assertUsageError(refused, out, '--force');
  assert.deepEqual(snapshot(out), before);

  const forced = train(dir, ['--out', out, '--seed', '2', '--force']);
  assert.equal(forced.status, 0, forced.stderr);
  // The new run alone: its config, its 10 steps, its one checkpoint; files it does not own stay.
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).seed, 2);
  assert.deepEqual(metricsOf(out).map((r) => r.step), [5, 10]);
  assert.deepEqual(checkpointFiles(out), ['step-000010.safetensors']);
  const ckpt = path.join('checkpoints', 'step-000010.safetensors');
  assert.notEqual(fs.readFileSync(path.join(out, ckpt)).toString('base64'), before.get(ckpt)?.bytes, 'step 10 is the new seed\'s');
  assert.equal(fs.readFileSync(path.join(out, 'notes.txt'), 'utf8'), 'mine');
});

test('--resume without a checkpoint exits 2 naming the checkpoint folder', (t) => {
  const dir = tempDir(t, 'hcprobe-cli-');
  const out = path.join(dir, 'never-trained');
  fs.mkdirSync(out);
  assertUsageError(cli(['train', '--out', out, '--resume', '--backend', 'wasm']), path.join(out, 'checkpoints'));
  assert.deepEqual(fs.readdirSync(out), []);
});

test('help exits 0', () => {
  const top = cli(['--help']);
  assert.equal(top.status, 0, top.stderr);
  assert.match(top.stdout, /Usage: hcprobe/);
  assert.match(top.stdout, /train/);
  const sub = cli(['train', '--help']);
  assert.equal(sub.status, 0, sub.stderr);
  for (const flag of ['--out', '--config', '--preset', '--connection', '--streams', '--stream-init', '--corpus', '--steps', '--seed', '--resume', '--force']) {
    assert.ok(sub.stdout.includes(flag), `train --help lists ${flag}`);
  }
});

test('a diverging run exits 3 and keeps its last good checkpoint', (t) => {
  const dir = tempDir(t, 'hcprobe-cli-');
  const out = path.join(dir, 'run');
  // lr 1e30 without warmup: the first update sends the weights to ~1e30, the next loss is not finite.
  const r = train(dir, ['--out', out, '--lr', '1e30'], { warmup: 0, checkpointInterval: 1, minLr: 1e29 });
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /(loss|gradient norm) became (NaN|-?Infinity)|parameter \S+ became non-finite/);
  const kept = checkpointFiles(out);
  assert.ok(kept.length > 0, 'a checkpoint is kept');
  for (const f of kept) {
    const file = readSafetensorsFile(path.join(out, 'checkpoints', f));
    for (const [name, tensor] of file.tensors) assert.ok(tensor.data.every(Number.isFinite), `${f}: ${name} is finite`);
  }
});

test('a nanoGPT token folder trains with the default tokenizer, and a text-corpus run resumes', (t) => {
  const dir = tempDir(t, 'hcprobe-cli-');
  const data = path.join(dir, 'data');
  fs.mkdirSync(data);
  const ids = (n: number, seed: number) => Buffer.from(Uint16Array.from({ length: n }, (_, i) => (i * 7 + seed) % 61).buffer);
  fs.writeFileSync(path.join(data, 'train.bin'), ids(4000, 1));
  fs.writeFileSync(path.join(data, 'val.bin'), ids(1000, 2));
  const bin = train(dir, ['--corpus', data, '--out', path.join(dir, 'bin-run')]);
  assert.equal(bin.status, 0, bin.stderr);
  const text = path.join(dir, 'corpus.txt');
  fs.writeFileSync(text, 'The streams mix and the model reads one of them. '.repeat(200));
  const out = path.join(dir, 'text-run');
  const first = train(dir, ['--corpus', text, '--out', out, '--steps', '5']);
  assert.equal(first.status, 0, first.stderr);
  const resumed = train(dir, ['--corpus', text, '--out', out, '--resume', '--steps', '10']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.equal(metricsOf(out).at(-1)?.step, 10);
});
