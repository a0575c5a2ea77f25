// `hcprobe sample` and `hcprobe perplexity` as a user runs them, on the hc parity fixture
// (vocab 64, block 32, bare ids): one seed gives one text, the perplexity JSON agrees with its
// summary line, and bad inputs exit 2 naming the value without writing anything.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { cli, ROOT, tempDir } from '../train/helpers.ts';

const CKPT = path.join(ROOT, 'test', 'fixtures', 'parity', 'hc.safetensors');

function assertUsageError(r: { status: number | null; stderr: string }, ...parts: string[]): void {
  assert.equal(r.status, 2, `exit 2 expected; stderr: ${r.stderr}`);
  for (const p of parts) assert.ok(r.stderr.includes(p), `stderr names ${JSON.stringify(p)}: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /internal error/);
}

type Sampled = { tokenizer: string; prompt: number[]; samples: { ids: number[]; text: string }[] };

test('sample: the same seed gives the same text, another seed another; the prompt is kept', () => {
  const run = (seed: string) => {
    const r = cli(['sample', '--checkpoint', CKPT, '--prompt', '1 2 3', '--tokens', '40', '--seed', seed, '--num-samples', '2', '--temperature', '1', '--json', '--backend', 'cpu']);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as Sampled;
  };
  const a = run('5');
  assert.equal(a.tokenizer, 'ids', 'a 64-token model without a corpus reads bare ids');
  assert.deepEqual(a.prompt, [1, 2, 3]);
  assert.equal(a.samples.length, 2);
  for (const s of a.samples) {
    assert.equal(s.ids.length, 43, 'the context (43) outgrows the block size (32)');
    assert.ok(s.text.startsWith('#1 #2 #3 '));
  }
  assert.deepEqual(run('5'), a);
  assert.notDeepEqual(run('6').samples, a.samples);
});

test('perplexity: JSON and summary line agree; --out refuses to overwrite without --force', (t) => {
  const dir = tempDir(t, 'hcprobe-ppl-cli-');
  const ids = Array.from({ length: 3 * 33 + 5 }, (_, i) => (i * 7 + 3) % 64);
  const bin = path.join(dir, 'val.bin');
  fs.writeFileSync(bin, new Uint8Array(Uint16Array.from(ids).buffer));
  const out = path.join(dir, 'ppl.json');
  const r = cli(['perplexity', '--checkpoint', CKPT, '--bin', bin, '--out', out, '--batch', '2', '--backend', 'cpu']);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(fs.readFileSync(out, 'utf8')) as { windows: number; targets: number; dropped_tail_tokens: number; mean_ce: number; perplexity: number; stride: number };
  assert.deepEqual([j.windows, j.targets, j.dropped_tail_tokens, j.stride], [3, 96, 5, 33]);
  assert.ok(Math.abs(j.perplexity - Math.exp(j.mean_ce)) < 1e-9 && j.mean_ce > 0);
  assert.match(r.stdout, new RegExp(`^perplexity ${j.perplexity.toFixed(4)} \\(mean CE ${j.mean_ce.toFixed(4)} nats\\) over 96 targets in 3 windows`));
  const again = cli(['perplexity', '--checkpoint', CKPT, '--bin', bin, '--out', out, '--backend', 'cpu']);
  assertUsageError(again, out, '--force');
});

test('perplexity: a missing or empty file and an id outside the vocabulary exit 2 naming them', (t) => {
  const dir = tempDir(t, 'hcprobe-ppl-cli-');
  const missing = path.join(dir, 'missing.bin');
  assertUsageError(cli(['perplexity', '--checkpoint', CKPT, '--bin', missing]), missing, 'does not exist');
  const empty = path.join(dir, 'empty.bin');
  fs.writeFileSync(empty, '');
  assertUsageError(cli(['perplexity', '--checkpoint', CKPT, '--bin', empty]), empty, 'empty');
  const big = path.join(dir, 'big.bin');
  fs.writeFileSync(big, new Uint8Array(Uint16Array.from([1, 2, 64, 3]).buffer));
  const out = path.join(dir, 'never.json');
  assertUsageError(cli(['perplexity', '--checkpoint', CKPT, '--bin', big, '--out', out]), big, 'id 64', 'vocabulary of 64');
  assert.ok(!fs.existsSync(out), 'nothing written');
});
