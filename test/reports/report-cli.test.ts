// `hcprobe report` as a user runs it: one HTML file plus its SVGs, results found beside the
// run, refusal to overwrite without --force, and exit 2 for a missing run or a bad results file.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { cli, snapshot, tempDir } from '../train/helpers.ts';
import { fakeRun, writeResultsDir, writeRunDir } from './fixtures.ts';
import { checkXml } from './xml-check.ts';

test('writes the report and its SVG files; refuses to overwrite without --force', (t) => {
  const root = tempDir(t, 'hcprobe-report-');
  const run = writeRunDir(root, fakeRun({ name: 'r1' }));
  const out = path.join(root, 'out', 'report.html');
  const r = cli(['report', '--run', run, '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), out);
  const html = fs.readFileSync(out, 'utf8');
  const svgs = fs.readdirSync(path.join(root, 'out', 'report_files')).sort();
  assert.equal(svgs.length, 8);
  for (const f of svgs) {
    const svg = fs.readFileSync(path.join(root, 'out', 'report_files', f), 'utf8');
    checkXml(svg);
    assert.ok(html.includes(svg.replace(/^<\?xml[^>]*>\n/, '').trim()), `${f} is inline in the HTML`);
  }
  assert.match(r.stderr, /training metrics only/);

  const before = snapshot(path.join(root, 'out'));
  const again = cli(['report', '--run', run, '--out', out]);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /already exists; pass --force/);
  assert.deepEqual(snapshot(path.join(root, 'out')), before, 'nothing was touched');

  assert.equal(cli(['report', '--run', run, '--out', out, '--force']).status, 0);
  assert.deepEqual(fs.readdirSync(path.join(root, 'out')).sort(), ['report.html', 'report_files'], 'no temporary files left');
});

test('finds results/NAME beside runs/NAME and draws them', (t) => {
  const root = tempDir(t, 'hcprobe-report-');
  const run = writeRunDir(root, fakeRun({ name: 'r2' }));
  writeResultsDir(root, 'r2');
  const out = path.join(root, 'r2.html');
  const r = cli(['report', '--run', run, '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /results: diagnostics.json, probes.json/);
  const html = fs.readFileSync(out, 'utf8');
  assert.match(html, /id="diagnostics"/);
  assert.match(html, /id="probes"/);
  assert.ok(fs.existsSync(path.join(root, 'r2_files', 'diag-ablation-zero.svg')));
});

test('bad input exits 2 naming the value', (t) => {
  const root = tempDir(t, 'hcprobe-report-');
  const missing = cli(['report', '--run', path.join(root, 'nope'), '--out', path.join(root, 'x.html')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /nope.*does not exist/);
  const run = writeRunDir(root, fakeRun({ name: 'r3' }));
  const res = writeResultsDir(root, 'r3');
  fs.writeFileSync(path.join(res, 'probes.json'), '{"kind": "probes", "schema_version": 99}');
  const bad = cli(['report', '--run', run, '--out', path.join(root, 'x.html')]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /probes.json: schema_version 99/);
  assert.equal(fs.existsSync(path.join(root, 'x.html')), false);
  const noResults = cli(['report', '--run', run, '--results', path.join(root, 'elsewhere'), '--out', path.join(root, 'x.html')]);
  assert.equal(noResults.status, 2);
  assert.match(noResults.stderr, /--results .*elsewhere.* does not exist/);
});
