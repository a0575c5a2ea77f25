// The report drawn from the real JSON of a tiny pipeline, not from hand-built results: a run
// trained here (2 layers, d 32, mhc-lite n = 4, 40 steps), its capture, diagnose, probe and sae
// (per-stream and concat) through the CLI, then `report --run`. Every section holds the figures
// its results call for, each figure is inline and in REPORT_files/, the page body is well-formed
// XML, and no NaN, undefined or Infinity reached the page.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { figureId } from '../../reports/figure.ts';
import type { Manifest } from '../../src/capture/schema.ts';
import { runTraining } from '../../src/train/session.ts';
import { cli, tempDir } from '../train/helpers.ts';
import { checkXml } from './xml-check.ts';

const RUN = {
  layers: 2, dModel: 32, heads: 2, seqLen: 32, batchSize: 8, steps: 40, logInterval: 10, evalInterval: 20,
  checkpointInterval: 40, evalBatches: 1, diagBatch: 2, backend: 'wasm', workers: 0,
};
const SAE = ['--layers', '1', '--k', '8', '--expansion', '2', '--tokens', '2048', '--batch', '256', '--eval-tokens', '256', '--features', '4', '--backend', 'wasm'];

function ok(args: string[]): string {
  const r = cli(args, 240_000);
  assert.equal(r.status, 0, `hcprobe ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r.stderr;
}

/** Figure ids inside each <section id="…"> of the page, in order. */
function figuresBySection(html: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of html.matchAll(/<section id="([^"]+)">([\s\S]*?)<\/section>/g)) {
    out.set(m[1] as string, [...(m[2] as string).matchAll(/<figure id="fig-([^"]+)">/g)].map((f) => f[1] as string));
  }
  return out;
}

test('report --run on the real results of capture, diagnose, probe and sae', async (t) => {
  const dir = tempDir(t, 'hcprobe-real-report-');
  const run = path.join(dir, 'runs', 'tiny');
  const acts = path.join(dir, 'acts', 'tiny');
  const results = path.join(dir, 'results', 'tiny');
  await runTraining({ out: run, layers: [RUN], force: false, resume: false, version: 'test', commandLine: [] });
  ok(['capture', '--run', run, '--out', acts, '--tokens', '2048', '--backend', 'wasm']);
  ok(['diagnose', '--acts', acts, '--out', path.join(results, 'diagnostics.json'), '--eval-tokens', '512', '--backend', 'wasm']);
  ok(['probe', '--acts', acts, '--out', path.join(results, 'probes.json'), '--layers', '1', '--modules', 'mlp', '--l2', '0.01', '--backend', 'wasm']);
  for (const mode of ['per-stream', 'concat']) ok(['sae', '--acts', acts, '--out', path.join(results, 'sae'), '--mode', mode, ...SAE]);
  const out = path.join(dir, 'report.html');
  const stderr = ok(['report', '--run', run, '--results', results, '--out', out]);
  for (const found of ['diagnostics.json', 'probes.json', 'sae/per-stream', 'sae/concat']) assert.ok(stderr.includes(found), `${found} found: ${stderr}`);

  const html = fs.readFileSync(out, 'utf8');
  const labels = (JSON.parse(fs.readFileSync(path.join(acts, 'manifest.json'), 'utf8')) as Manifest).labels.map((l) => l.name);
  assert.ok(labels.length >= 2, `the synthetic corpus plants labels: ${labels.join(', ')}`);
  const expected: Record<string, string[]> = {
    training: ['loss', 'dominance-over-training', 'signal-shares', 'n-eff', 'identity-distance', 'read-shares', 'write-shares', 'unfolded-connection'],
    diagnostics: ['diag-signal-shares', 'diag-n-eff', 'diag-redundancy', 'diag-ridge-r2', 'diag-unfolded', 'diag-ablation-zero', 'diag-ablation-mean', 'diag-logit-lens', 'diag-pair-ablation-l0', 'diag-rescue-l0', 'diag-pair-ablation-l1', 'diag-rescue-l1', 'diag-dla-matrix', 'diag-dla-streams', 'diag-pre-constraint-nu', 'diag-pre-constraint-colsums', 'diag-pre-constraint-product-colsums', 'diag-pre-constraint-entropy'],
    probes: [figureId('probe-overview', 'resid_post'), ...labels.flatMap((l) => [figureId('probe-accuracy', l, 'resid_post'), figureId('probe-selectivity', l, 'resid_post')])],
    sae: ['sae-attribution-concat-layer-1', 'sae-concentration-concat', 'sae-per-stream-fvu', 'sae-per-stream-ce-recovered', 'sae-planted-per-stream', 'sae-planted-concat'],
  };
  const sections = figuresBySection(html);
  assert.deepEqual([...sections.keys()], Object.keys(expected), 'the sections, and no "not found" one');
  for (const [id, figures] of Object.entries(expected)) assert.deepEqual([...(sections.get(id) ?? [])].sort(), [...figures].sort(), `figures of section ${id}`);

  // Each figure written beside the page is the one drawn inline, and is well-formed SVG.
  const files = fs.readdirSync(path.join(dir, 'report_files')).sort();
  assert.deepEqual(files, Object.values(expected).flat().map((id) => `${id}.svg`).sort());
  for (const f of files) {
    const svg = fs.readFileSync(path.join(dir, 'report_files', f), 'utf8');
    checkXml(svg);
    assert.ok(html.includes(svg.replace(/^<\?xml[^>]*>\n/, '').trim()), `${f} is inline`);
  }
  // The body is XML too: tables, figures and feature cards nest and close, text is escaped.
  const main = /<main>[\s\S]*<\/main>/.exec(html)?.[0];
  assert.ok(main, 'a <main> element');
  checkXml(main);
  for (const word of ['NaN', 'undefined', 'Infinity']) assert.doesNotMatch(html, new RegExp(`\\b${word}\\b`), `${word} in the page`);
  for (const empty of ['no metrics logged', 'no stream diagnostics logged', 'nothing to draw', 'No results found']) assert.ok(!html.includes(empty), `"${empty}" in the page`);
  // The feature cards of the dashboards and the tables of every SAE are there.
  assert.match(html, /<h3>Feature cards<\/h3>/);
  for (const table of ['per-stream SAEs (topk, k 8, ×2, resid_post)', 'concat SAEs (topk, k 8, ×2, resid_post)']) assert.ok(html.includes(table), table);
});
