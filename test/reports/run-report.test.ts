// The report page of one run: every figure inline and in the figure list, the verdict, the
// results sections when given, and hostile strings from a corpus shown as text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diagnosticsSection } from '../../reports/diagnostics-figures.ts';
import { probesSection } from '../../reports/probe-figures.ts';
import type { RunData } from '../../reports/run-data.ts';
import { collapseVerdict, renderRunReport } from '../../reports/run-report.ts';
import { fakeDiagnostics, fakeProbes, fakeRun, XSS_IMG, XSS_SCRIPT } from './fixtures.ts';
import { checkXml, texts } from './xml-check.ts';

test('training-only report: every figure inline, unique ids, no script, a verdict', () => {
  const r = renderRunReport({ run: fakeRun(), missing: ['results/fake/probes.json'] });
  const ids = r.figures.map((f) => f.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const f of r.figures) assert.ok(r.html.includes(f.svg), `${f.id} is inline`);
  assert.doesNotMatch(r.html, /<script|src=|href="http/i);
  assert.match(r.html, /stream 1 holds 80% of the signal/);
  assert.match(r.html, /No results found for: results\/fake\/probes.json/);
});

test('verdict: collapse, dominance, spread and the single-stream case', () => {
  const run = fakeRun();
  const withDom = (d: number): RunData => ({
    ...run,
    metrics: run.metrics.map((m) => (m.hc ? { ...m, hc: { ...m.hc, layers: m.hc.layers.map((l) => ({ ...l, dominance: d, n_eff: 1.1 })) } } : m)),
  });
  assert.match(collapseVerdict(withDom(0.95)), /collapsed onto one/);
  assert.match(collapseVerdict(withDom(0.6)), /One stream dominates/);
  assert.match(collapseVerdict(withDom(0.42)), /1\.7× an even share, but none dominates/);
  assert.match(collapseVerdict(withDom(0.3)), /spread about evenly/);
  assert.match(collapseVerdict(fakeRun({ connection: 'residual' })), /one stream, nothing to collapse/);
});

test('diagnostics and probe sections: well-formed figures with the expected labels', () => {
  const d = diagnosticsSection(fakeDiagnostics());
  assert.deepEqual(d.figures.map((f) => f.id), ['diag-signal-shares', 'diag-n-eff', 'diag-redundancy', 'diag-ridge-r2', 'diag-unfolded', 'diag-ablation-zero', 'diag-ablation-mean', 'diag-logit-lens']);
  for (const f of d.figures) checkXml(f.svg);
  const abl = texts(d.figures.find((f) => f.id === 'diag-ablation-zero')?.svg ?? '');
  assert.ok(abl.includes('L2 · stream 1: 2.5'), 'Δloss of zeroing stream 1 after layer 2');
  assert.match(d.html ?? '', /dominant stream per layer/);

  const p = probesSection(fakeProbes());
  assert.deepEqual(p.figures.map((f) => f.id), ['probe-overview-resid-post', 'probe-accuracy-topic-resid-post', 'probe-selectivity-topic-resid-post', 'probe-accuracy-pos-resid-post', 'probe-selectivity-pos-resid-post']);
  for (const f of p.figures) checkXml(f.svg);
  const acc = texts(p.figures[1]?.svg ?? '');
  for (const s of ['stream 0', 'stream 3', 'Σ streams', 'L0 attn', 'L2 attn', 'L1 attn · stream 1: 0.90', 'L1 attn · stream 0: 0.30']) assert.ok(acc.includes(s), s);
});

test('hostile label names and run names stay text in the page and the figures', () => {
  const run = fakeRun({ name: XSS_IMG });
  const r = renderRunReport({ run, resultSections: [probesSection(fakeProbes([XSS_SCRIPT, XSS_IMG]))] });
  assert.doesNotMatch(r.html, /<script>|<img/i);
  assert.ok(r.html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  for (const f of r.figures) {
    checkXml(f.svg);
    assert.match(f.id, /^[a-z0-9-]+$/);
  }
});
