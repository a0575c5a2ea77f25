// The whole pipeline on a text corpus, as a user runs it: train on a .txt file, then capture,
// diagnose, probe, sae and report from the run; then the same from a checkpoint with no run
// directory (capture --checkpoint --corpus … → report --checkpoint), as for a model trained
// elsewhere. The outputs must hold the text corpus' automatic labels.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { after, before, test } from 'node:test';
import type { DiagnosticsResult, ProbesResult } from '../../probes/results-schema.ts';
import type { SaeSummary } from '../../sae/results-schema.ts';
import type { Manifest } from '../../src/capture/schema.ts';
import { cli, ROOT } from '../capture/helpers.ts';

const TEXT_LABELS = ['char_class', 'capitalised', 'in_quotes', 'in_brackets', 'word_position'];

/** preset tiny (2 layers, d 64, seq 64) cut to 30 steps, with evaluation and diagnostics kept small. */
const TRAIN_CONFIG = { preset: 'tiny', steps: 30, warmup: 5, evalInterval: 30, logInterval: 10, checkpointInterval: 30, evalBatches: 1, diagBatch: 2 };

/** About 30 KB of English with capitals, digits, quotes and brackets, the same every time. */
export function englishText(): string {
  const subjects = ['The old sailor', 'A quiet child', 'Every merchant', 'The baker', 'Our neighbour', 'Maria', 'The committee'];
  const verbs = ['walked to', 'wrote about', 'looked at', 'forgot', 'painted', 'counted', 'remembered'];
  const objects = ['the harbour', 'a red bicycle', 'seven letters', 'the long winter', 'his brother', 'the garden wall', 'an empty room'];
  let state = 12345;
  const pick = <T>(xs: T[]): T => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return xs[state % xs.length] as T;
  };
  const sentences: string[] = [];
  for (let i = 0; sentences.join(' ').length < 30_000; i++) {
    const s = `${pick(subjects)} ${pick(verbs)} ${pick(objects)}`;
    const kind = i % 5;
    if (kind === 0) sentences.push(`${s} (in ${1900 + (i % 97)}).`);
    else if (kind === 1) sentences.push(`"${s}," she said.`);
    else if (kind === 2) sentences.push(`${s} and ${pick(verbs)} ${pick(objects)}.`);
    else sentences.push(`${s}.`);
    if (i % 9 === 8) sentences.push('\n\n');
  }
  return sentences.join(' ');
}

/** `hcprobe ARGS` in `cwd`; fails with its stderr unless it exits 0. */
function ok(args: string[], cwd: string): string {
  const r = cli(args, cwd);
  assert.equal(r.status, 0, `hcprobe ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r.stderr;
}

const json = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;

export interface AnalysisPaths {
  acts: string;
  results: string;
  report: string;
  /** Validation tokens of diagnose's causal part (default 1024). */
  evalTokens?: number;
}

/**
 * diagnose, probe, sae (concat, last layer) and report of a capture, in `cwd`, and the checks
 * every pipeline must pass: exit 0, a causal part, the corpus' labels in every output.
 * `reportFrom` is `--run DIR` or `--checkpoint FILE`; `model` adds flags that name the model
 * to diagnose and sae (none: they find it from the capture).
 */
export function analyseCapture(cwd: string, p: AnalysisPaths, reportFrom: string[], labels: string[], model: string[] = []): DiagnosticsResult {
  const m = json<Manifest>(path.join(cwd, p.acts, 'manifest.json'));
  assert.deepEqual(m.labels.map((l) => l.name), labels);
  ok(['diagnose', '--acts', p.acts, '--out', path.join(p.results, 'diagnostics.json'), '--eval-tokens', String(p.evalTokens ?? 1024), '--backend', 'wasm', ...model], cwd);
  const d = json<DiagnosticsResult>(path.join(cwd, p.results, 'diagnostics.json'));
  assert.ok(d.causal, `causal part ran: ${d.notes.join('; ')}`);
  assert.ok(d.causal.loss > 0 && d.causal.loss < Math.log(m.model.vocabSize), `validation CE ${d.causal.loss}`);
  assert.equal(d.causal.ablation_zero.length, m.model.nLayers);

  ok(['probe', '--acts', p.acts, '--out', path.join(p.results, 'probes.json'), '--max-tokens', 'all', '--l2', '0.01', '--layers', '1', '--modules', 'mlp'], cwd);
  const probes = json<ProbesResult>(path.join(cwd, p.results, 'probes.json'));
  assert.deepEqual(probes.labels.map((l) => l.name), labels);
  const charClass = probes.probes.find((x) => x.label === 'char_class' && x.stream === 'sum');
  assert.ok(charClass, 'a char_class probe of the summed streams');
  assert.ok(charClass.accuracy > charClass.chance, `char_class accuracy ${charClass.accuracy} beats chance ${charClass.chance}`);

  ok(['sae', '--acts', p.acts, '--out', path.join(p.results, 'sae'), '--mode', 'concat', '--layers', '1', '--expansion', '2', '--k', '8', '--tokens', '4096', '--batch', '256', '--eval-tokens', '1024', '--features', '4', '--backend', 'wasm', ...model], cwd);
  const sae = json<SaeSummary>(path.join(cwd, p.results, 'sae', 'concat', 'summary.json'));
  assert.equal(sae.run, m.run);
  assert.ok(sae.planted[0]?.matches.some((x) => x.label === 'char_class'), 'SAE latents matched to char_class');
  const metrics = json<{ eval: { ce: unknown; ce_note?: string } }>(path.join(cwd, p.results, 'sae', 'concat', 'layer=1', 'metrics.json'));
  assert.ok(metrics.eval.ce, `CE loss recovered was measured: ${metrics.eval.ce_note}`);

  const stderr = ok(['report', ...reportFrom, '--results', p.results, '--out', p.report], cwd);
  assert.match(stderr, /results: diagnostics\.json, probes\.json, sae\/concat/);
  const html = fs.readFileSync(path.join(cwd, p.report), 'utf8');
  for (const id of ['diagnostics', 'probes']) assert.match(html, new RegExp(`id="${id}"`));
  assert.match(html, /char_class/);
  return d;
}

let dir = '';
let corpus = '';

// One run for the file: trained on the text, then captured (the capture that bug broke).
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcprobe-e2e-text-'));
  corpus = path.join(dir, 'english.txt');
  fs.writeFileSync(corpus, englishText());
  fs.writeFileSync(path.join(dir, 'tiny.json'), JSON.stringify(TRAIN_CONFIG));
  ok(['train', '--config', 'tiny.json', '--corpus', 'english.txt', '--workers', '0', '--backend', 'wasm', '--out', 'runs/text'], dir);
  ok(['capture', '--run', 'runs/text', '--out', 'acts/text', '--tokens', '2048', '--backend', 'wasm'], dir);
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a run trained on a text file: capture, diagnose, probe, sae and report', () => {
  const m = json<Manifest>(path.join(dir, 'acts', 'text', 'manifest.json'));
  assert.equal(m.run, 'runs/text');
  assert.equal(m.corpus_spec, 'english.txt');
  assert.equal(m.tokenizer, 'byte');
  assert.equal(m.corpus.kind, 'text');
  analyseCapture(dir, { acts: 'acts/text', results: 'results/text', report: 'text.html' }, ['--run', 'runs/text'], TEXT_LABELS);
  const html = fs.readFileSync(path.join(dir, 'text.html'), 'utf8');
  assert.match(html, /id="training"/);
  assert.doesNotMatch(html, /No training curves/);
});

test('a checkpoint without its run: capture --checkpoint --corpus, then diagnose, probe, sae, report --checkpoint', () => {
  const elsewhere = path.join(dir, 'elsewhere');
  fs.mkdirSync(elsewhere);
  fs.copyFileSync(path.join(dir, 'runs', 'text', 'checkpoints', 'step-000030.safetensors'), path.join(elsewhere, 'model.safetensors'));
  fs.copyFileSync(corpus, path.join(elsewhere, 'corpus.txt'));
  ok(['capture', '--checkpoint', 'model.safetensors', '--corpus', 'corpus.txt', '--out', 'acts', '--tokens', '2048', '--backend', 'wasm'], elsewhere);
  const m = json<Manifest>(path.join(elsewhere, 'acts', 'manifest.json'));
  assert.equal(m.run, null);
  assert.equal(m.checkpoint, 'model.safetensors');
  assert.equal(m.corpus_spec, 'corpus.txt');
  assert.equal(m.tokenizer, 'byte', 'a 256-token model defaults to the byte tokenizer');
  assert.equal(m.seed, 1337);
  // Captured from the same weights and text, the shards equal the run's capture byte for byte.
  const shard = path.join('site=resid_post', 'layer=1', 'module=mlp', 'part-00000.arrow');
  assert.ok(fs.readFileSync(path.join(elsewhere, 'acts', shard)).equals(fs.readFileSync(path.join(dir, 'acts', 'text', shard))));

  analyseCapture(elsewhere, { acts: 'acts', results: 'results', report: 'report.html' }, ['--checkpoint', 'model.safetensors'], TEXT_LABELS);
  const html = fs.readFileSync(path.join(elsewhere, 'report.html'), 'utf8');
  assert.match(html, /No training curves: this report is of the checkpoint model\.safetensors/);
  assert.match(html, /hcprobe report: model</);
  assert.match(html, /mhc-lite · 4 streams · copy init · 2 layers · d 64/);
});

/**
 * The same pipeline on a checkpoint written by the reference code's own train.py and converted
 * with scripts/pt2safetensors.py, with the byte-level text it was trained on: copied out of
 * `fixture` (ckpt.safetensors, corpus.txt, ckpt-info.json) into `work`, captured with
 * --tokenizer byte; the causal CE must match the reference's validation loss.
 */
export function referenceRunPipeline(fixture: string, work: string): void {
  fs.mkdirSync(work, { recursive: true });
  fs.copyFileSync(path.join(fixture, 'ckpt.safetensors'), path.join(work, 'ckpt.safetensors'));
  fs.copyFileSync(path.join(fixture, 'corpus.txt'), path.join(work, 'corpus.txt'));
  ok(['capture', '--checkpoint', 'ckpt.safetensors', '--corpus', 'corpus.txt', '--tokenizer', 'byte', '--out', 'acts', '--tokens', '2048', '--backend', 'wasm'], work);
  const m = json<Manifest>(path.join(work, 'acts', 'manifest.json'));
  assert.equal(m.run, null);
  assert.equal(m.tokenizer, 'byte');
  const d = analyseCapture(work, { acts: 'acts', results: 'results', report: 'report.html', evalTokens: 100_000 }, ['--checkpoint', 'ckpt.safetensors'], TEXT_LABELS);
  assert.match(fs.readFileSync(path.join(work, 'report.html'), 'utf8'), /No training curves/);
  // The reference measured its validation loss on the same tail of corpus.txt (val.bin), in
  // windows one token apart from ours: a misread checkpoint would be far off (untrained: 5.6).
  const info = json<{ val_windows: { loss: number } }>(path.join(fixture, 'ckpt-info.json'));
  assert.ok(Math.abs((d.causal?.loss ?? Number.NaN) - info.val_windows.loss) < 0.05, `CE ${d.causal?.loss} vs the reference's ${info.val_windows.loss}`);
}

const REFERENCE_RUN = path.join(ROOT, 'test', 'fixtures', 'reference-run');
const haveReference = ['ckpt.safetensors', 'corpus.txt', 'ckpt-info.json'].every((f) => fs.existsSync(path.join(REFERENCE_RUN, f)));

test('a checkpoint of the reference code (test/fixtures/reference-run), from conversion to report', { skip: haveReference ? false : 'test/fixtures/reference-run/ (ckpt.safetensors, corpus.txt, ckpt-info.json) is not there' }, () => {
  referenceRunPipeline(REFERENCE_RUN, path.join(dir, 'reference'));
});
