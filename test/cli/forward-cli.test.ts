// `hcprobe forward` as a user runs it: the reference fixture's logits and loss come back through
// the CLI on the wasm backend, and bad inputs exit 2 with a message naming what is wrong.
//
// The fixture's loss is the mean cross-entropy of 16 positions against targets that run one token
// past the 16 given tokens (test/fixtures/README.md); `forward` scores each position against the
// next given token. So each row is fed as its 16 tokens plus its last target (17 tokens): causal
// attention leaves the first 16 positions' logits as the fixture's, and the 16 next-token
// predictions scored are exactly the fixture's 16 (token, target) pairs.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { cli, ROOT, tempDir } from '../train/helpers.ts';

const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'parity');
const CKPT = path.join(FIXTURE, 'hc.safetensors');
const fx = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'hc.json'), 'utf8')) as { tokens: number[][]; targets: number[][]; logits: number[][][]; loss: number; vocab_size: number };
const TOL = 1e-4;

function forward(args: string[]) {
  return cli(['forward', ...args]);
}

function assertUsageError(r: { status: number | null; stderr: string }, ...parts: string[]): void {
  assert.equal(r.status, 2, `exit 2 expected; stderr: ${r.stderr}`);
  for (const p of parts) assert.ok(r.stderr.includes(p), `stderr names ${JSON.stringify(p)}: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /internal error/);
}

test('forward --json on the hc fixture reproduces the reference logits and loss (wasm)', (t) => {
  const dir = tempDir(t, 'hcprobe-forward-');
  const seqs = fx.tokens.map((row, i) => [...row, (fx.targets[i] as number[]).at(-1) as number]);
  const file = path.join(dir, 'tokens.json');
  fs.writeFileSync(file, JSON.stringify(seqs));
  const r = forward(['--checkpoint', CKPT, '--tokens', `@${file}`, '--json', '--backend', 'wasm']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { logits: number[][][]; loss: number };
  assert.equal(out.logits.length, 2);
  let worst = 0;
  fx.logits.forEach((row, b) => {
    assert.equal(out.logits[b]?.length, 17);
    row.forEach((pos, p) => {
      assert.equal(out.logits[b]?.[p]?.length, fx.vocab_size);
      pos.forEach((v, k) => {
        worst = Math.max(worst, Math.abs((out.logits[b]?.[p]?.[k] as number) - v));
      });
    });
  });
  assert.ok(worst < TOL, `max |logit − reference| = ${worst}`);
  assert.ok(Math.abs(out.loss - fx.loss) < TOL, `loss ${out.loss} vs reference ${fx.loss}`);
});

test('forward: bad checkpoints exit 2', (t) => {
  const dir = tempDir(t, 'hcprobe-forward-');
  const bytes = fs.readFileSync(CKPT);
  const tokens = JSON.stringify([[1, 2, 3]]);

  const truncated = path.join(dir, 'truncated.safetensors');
  fs.writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  assertUsageError(forward(['--checkpoint', truncated, '--tokens', tokens, '--backend', 'wasm']), truncated);

  const pastEof = path.join(dir, 'past-eof.safetensors');
  const header = Buffer.alloc(8);
  header.writeBigUInt64LE(4096n);
  fs.writeFileSync(pastEof, Buffer.concat([header, Buffer.from('{"__metadata__":{}}')]));
  assertUsageError(forward(['--checkpoint', pastEof, '--tokens', tokens, '--backend', 'wasm']), pastEof, '4096');

  const missing = path.join(dir, 'missing.safetensors');
  assertUsageError(forward(['--checkpoint', missing, '--tokens', tokens]), missing);
});

test('forward: bad tokens exit 2 naming the value', () => {
  assertUsageError(forward(['--checkpoint', CKPT, '--tokens', '[1,2,3]']), '--tokens', '1');
  assertUsageError(forward(['--checkpoint', CKPT, '--tokens', '[[1,2],"x"]']), '--tokens', 'sequence 1', 'x');
  assertUsageError(forward(['--checkpoint', CKPT, '--tokens', '{"a":1}']), '--tokens', 'JSON array', 'a');
  assertUsageError(forward(['--checkpoint', CKPT, '--tokens', '[[1,2,']), '--tokens', '[[1,2,');
  assertUsageError(forward(['--checkpoint', CKPT, '--tokens', '[[1,64,2]]', '--backend', 'wasm']), '64', 'vocabulary', '64)');
  assertUsageError(forward(['--checkpoint', CKPT, '--tokens', '[[1,-1]]']), '-1');
});

test('forward: --n-head is needed when the metadata lacks n_head, and then suffices', (t) => {
  const dir = tempDir(t, 'hcprobe-forward-');
  // Rewrite the header by hand (not with our serializer): same tensors, metadata without n_head.
  const bytes = fs.readFileSync(CKPT);
  const len = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + len).toString('utf8')) as Record<string, Record<string, string>>;
  assert.equal(header.__metadata__?.n_head, '2');
  delete header.__metadata__?.n_head;
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const lenBuf = Buffer.alloc(8);
  lenBuf.writeBigUInt64LE(BigInt(json.length));
  const noHeads = path.join(dir, 'no-n-head.safetensors');
  fs.writeFileSync(noHeads, Buffer.concat([lenBuf, Buffer.from(json), bytes.subarray(8 + len)]));

  const tokens = JSON.stringify(fx.tokens);
  assertUsageError(forward(['--checkpoint', noHeads, '--tokens', tokens, '--json', '--backend', 'wasm']), 'n_head', '--n-head', noHeads);
  const ok = forward(['--checkpoint', noHeads, '--tokens', tokens, '--json', '--backend', 'wasm', '--n-head', '2']);
  assert.equal(ok.status, 0, ok.stderr);
  const out = JSON.parse(ok.stdout) as { logits: number[][][] };
  assert.ok(Math.abs((out.logits[1]?.[15]?.[7] as number) - (fx.logits[1]?.[15]?.[7] as number)) < TOL);
});

test('forward: an unknown backend exits 2 naming it', () => {
  assertUsageError(forward(['--checkpoint', CKPT, '--tokens', '[[1,2]]', '--backend', 'tpu']), '--backend', 'tpu');
});
