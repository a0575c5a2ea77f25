// How the analysis commands open a trained model and its corpus: loadCorpusForModel for every
// corpus kind (a text run's vocabulary is no .bin vocabulary: the capture bug), and the bad
// inputs of --checkpoint without a run: each exits 2 naming the value and writes nothing.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { after, before, test } from 'node:test';
import type { DiagnosticsResult } from '../../probes/results-schema.ts';
import type { Manifest } from '../../src/capture/schema.ts';
import { loadCorpusForModel } from '../../src/data/corpus.ts';
import { ConfigError } from '../../src/errors.ts';
import { cli, tempDir, trainSmall } from '../capture/helpers.ts';

function throwsConfig(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => e instanceof ConfigError && parts.every((p) => e.message.includes(p)), `a ConfigError naming ${parts.join(', ')}`);
}

function assertUsageError(r: { status: number | null; stderr: string }, ...parts: string[]): void {
  assert.equal(r.status, 2, `exit 2 expected; stderr: ${r.stderr}`);
  for (const p of parts) assert.ok(r.stderr.includes(p), `stderr names ${JSON.stringify(p)}: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /internal error/);
}

test('loadCorpusForModel: the vocabulary goes only to token ids, and the corpus must fit the model', (t) => {
  const dir = tempDir(t, 'hcprobe-source-');
  const txt = path.join(dir, 'a.txt');
  fs.writeFileSync(txt, 'Hello, "world" (again). '.repeat(50));
  const bin = path.join(dir, 'ids.bin');
  fs.writeFileSync(bin, new Uint8Array(Uint16Array.from([1, 2, 3, 200, 4, 5, 6, 7, 8, 9, 10, 11]).buffer));

  const text = loadCorpusForModel(txt, { seed: 0 }, 256);
  assert.equal(text.kind, 'text');
  assert.equal(text.tokenizer.kind, 'byte', 'a 256-token model reads bytes');
  assert.equal(loadCorpusForModel(txt, { seed: 0 }, 50304).tokenizer.kind, 'gpt2', 'a GPT-2-sized model reads BPE');
  assert.equal(loadCorpusForModel(txt, { seed: 0, tokenizer: 'byte' }, 50304).tokenizer.kind, 'byte', 'a named tokenizer wins');
  throwsConfig(() => loadCorpusForModel(txt, { seed: 0, tokenizer: 'gpt2' }, 256), txt, '50257', '256');

  const ids = loadCorpusForModel(bin, { seed: 0 }, 256);
  assert.equal(ids.kind, 'tokens');
  assert.equal(ids.vocabSize, 256, "token ids take the model's vocabulary");
  assert.equal(ids.tokenizer.kind, 'ids');
  throwsConfig(() => loadCorpusForModel(bin, { seed: 0 }, 128), bin, 'id 200', '128');
  throwsConfig(() => loadCorpusForModel(bin, { seed: 0, tokenizer: 'byte' }, 256), bin, 'byte');

  assert.equal(loadCorpusForModel('synthetic', { seed: 3 }, 194).kind, 'synthetic');
  throwsConfig(() => loadCorpusForModel('synthetic', { seed: 3 }, 100), '"synthetic"', '194', '100');
});

// Two models of different widths, trained in this process; `big`'s checkpoint is copied out of
// its run and captured from there, as a model trained elsewhere would be.
let dir = '';
let model = '';
let other = '';
let acts = '';

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcprobe-source-'));
  const big = await trainSmall(path.join(dir, 'big'));
  const small = await trainSmall(path.join(dir, 'small'), { dModel: 16, steps: 10 });
  model = path.join(dir, 'model.safetensors');
  other = path.join(dir, 'other.safetensors');
  fs.copyFileSync(path.join(big, 'checkpoints', 'step-000020.safetensors'), model);
  fs.copyFileSync(path.join(small, 'checkpoints', 'step-000010.safetensors'), other);
  acts = path.join(dir, 'acts');
  const r = cli(['capture', '--checkpoint', model, '--corpus', 'synthetic', '--seed', '7', '--out', acts, '--tokens', '256', '--sites', 'resid_post', '--backend', 'wasm']);
  assert.equal(r.status, 0, r.stderr);
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('capture --checkpoint records what reopens the model and corpus; run stays null', () => {
  const m = JSON.parse(fs.readFileSync(path.join(acts, 'manifest.json'), 'utf8')) as Manifest;
  assert.equal(m.run, null);
  assert.equal(m.checkpoint, model);
  assert.equal(m.corpus_spec, 'synthetic');
  assert.equal(m.seed, 7);
  assert.equal(m.tokenizer, null, 'no tokenizer option applies to the synthetic corpus');
  assert.equal(m.corpus.seed, 7);
});

test('capture without a model or without a corpus exits 2 and writes nothing', () => {
  const out = path.join(dir, 'never');
  assertUsageError(cli(['capture', '--checkpoint', model, '--out', out]), '--corpus', model);
  assertUsageError(cli(['capture', '--corpus', 'synthetic', '--out', out]), '--run', '--checkpoint');
  assertUsageError(cli(['capture', '--checkpoint', path.join(dir, 'nope.safetensors'), '--corpus', 'synthetic', '--out', out]), 'nope.safetensors', 'does not exist');
  assertUsageError(cli(['capture', '--checkpoint', model, '--corpus', 'synthetic', '--tokenizer', 'words', '--out', out]), '--tokenizer', 'words');
  assertUsageError(cli(['capture', '--checkpoint', model, '--corpus', 'synthetic', '--seed', '-1', '--out', out]), '--seed', '-1');
  assert.equal(fs.existsSync(out), false);
});

test('diagnose and sae refuse a checkpoint of another model, naming both', () => {
  const out = path.join(dir, 'never.json');
  const d = cli(['diagnose', '--acts', acts, '--checkpoint', other, '--out', out, '--backend', 'wasm']);
  assertUsageError(d, `checkpoint "${other}" does not match the activations`, 'd 16', 'is not the captured one', 'd 32', model);
  assert.equal(fs.existsSync(out), false);
  const sae = path.join(dir, 'sae-never');
  assertUsageError(cli(['sae', '--acts', acts, '--checkpoint', other, '--out', sae, '--tokens', '256', '--backend', 'wasm']), other, 'another model', model);
  assert.equal(fs.existsSync(sae), false);
});

test('diagnose of an older capture without corpus_spec, tokenizer and seed reads them from the corpus description', () => {
  const old = path.join(dir, 'acts-old');
  fs.cpSync(acts, old, { recursive: true });
  const file = path.join(old, 'manifest.json');
  const { corpus_spec: _c, tokenizer: _t, seed: _s, ...m } = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  fs.writeFileSync(file, JSON.stringify(m));
  const causal = (capture: string, name: string) => {
    const out = path.join(dir, name);
    const r = cli(['diagnose', '--acts', capture, '--out', out, '--eval-tokens', '256', '--max-tokens', '64', '--no-rescue', '--backend', 'wasm']);
    assert.equal(r.status, 0, r.stderr);
    const d = JSON.parse(fs.readFileSync(out, 'utf8')) as DiagnosticsResult;
    assert.equal(d.run, null);
    assert.ok(d.causal, d.notes.join('; '));
    assert.equal(d.causal.checkpoint, model);
    assert.equal(d.causal.ablate_rescue, undefined, '--no-rescue skips ablate-and-rescue');
    return d.causal.loss;
  };
  // The same validation tokens (synthetic, seed 7, not the default 1337) give the same loss.
  assert.equal(causal(old, 'old.json'), causal(acts, 'new.json'));
});

test('report takes exactly one of --run and --checkpoint, and a checkpoint needs --results', () => {
  const out = path.join(dir, 'report.html');
  const run = path.join(dir, 'big');
  assertUsageError(cli(['report', '--run', run, '--checkpoint', model, '--out', out]), `--run "${run}"`, `--checkpoint "${model}"`, 'not both');
  assertUsageError(cli(['report', '--out', out]), '--run', '--checkpoint');
  assertUsageError(cli(['report', '--checkpoint', model, '--out', out]), model, '--results');
  assertUsageError(cli(['report', '--checkpoint', path.join(dir, 'none.safetensors'), '--results', dir, '--out', out]), 'none.safetensors', 'does not exist');
  assert.equal(fs.existsSync(out), false);
  assert.equal(fs.existsSync(path.join(dir, 'report_files')), false);
});
