// The "over training" timeline from hand-made per-checkpoint results: rows in step order with
// the planted dominance, identity distance, probe accuracy and SAE attribution; the section's
// figures mark the seeding stage's end at the step where the planted identity distance settles.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DiagnosticsResult, ModuleCoefficientDiagnostics, ProbesResult } from '../../probes/results-schema.ts';
import { seedingEndStep } from '../../reports/lss-figures.ts';
import type { MetricsRecord, RunData } from '../../reports/run-data.ts';
import { buildTimeline, type CheckpointResults } from '../../reports/timeline.ts';
import { overTrainingSection } from '../../reports/timeline-figures.ts';
import { fakeDiagnostics, fakeProbes, fakeRun, fakeSaeSummary } from './fixtures.ts';
import { checkXml, texts } from './xml-check.ts';

const N = 4;
const shares = (dominant: number, d: number) => Array.from({ length: N }, (_, i) => (i === dominant ? d : (1 - d) / (N - 1)));

/** Diagnostics whose last layer (2, mlp) has dominance `d` in stream `dominant`; layer 0 says otherwise. */
function diagnosticsAt(d: number, dominant: number, identity: [number, number]): DiagnosticsResult {
  const base = fakeDiagnostics(N, 3);
  const signal = (dom: number, s: number) => ({ shares: shares(dom, s), dominance: s, dominant: dom, n_eff: 1 + 3 * (1 - s), n_eff_simpson: 1 });
  const proto = base.streams[0] as DiagnosticsResult['streams'][number];
  const coeff = (layer: number, module: 'attn' | 'mlp', value: number) => ({ layer, module, index: 2 * layer + (module === 'mlp' ? 1 : 0), identity_distance: value }) as ModuleCoefficientDiagnostics;
  return {
    ...base,
    streams: [
      { ...proto, layer: 0, module: 'mlp', signal: signal(3, 0.99) },
      { ...proto, layer: 2, module: 'attn', signal: signal(0, 0.98) },
      { ...proto, layer: 2, module: 'mlp', signal: signal(dominant, d) },
    ],
    coefficients: [coeff(0, 'mlp', identity[1]), coeff(0, 'attn', identity[0])],
  };
}

/** Probes where, at the last layer's resid_post (mlp), stream `good` decodes `topic`; layer 0 and attn are decoys. */
function probesAt(good: number, acc: number): ProbesResult {
  const p = fakeProbes(['topic'], N, 3);
  const probes = p.probes.flatMap((r) => [
    { ...r, module: 'attn' as const, accuracy: 0.99 },
    { ...r, module: 'mlp' as const, accuracy: r.layer === 2 ? (r.stream === good ? acc : r.stream === 'sum' ? 0.95 : 0.3) : 0.99 },
  ]);
  return { ...p, probes };
}

function saeAt(byStream: number[]) {
  const s = fakeSaeSummary('concat', N);
  const saes = s.saes.map((x) => ({ ...x, attribution: x.layer === 1 ? { live: 100, concentrated: byStream.reduce((a, b) => a + b, 0), threshold: 0.5, by_stream: byStream, mean_shares: [0.25, 0.25, 0.25, 0.25], dominant: 0, dominance: 0.5, n_eff: 2 } : { live: 100, concentrated: 1, threshold: 0.5, by_stream: [1, 0, 0, 0], mean_shares: [1, 0, 0, 0], dominant: 0, dominance: 1, n_eff: 1 } }));
  return { ...s, saes };
}

// Out of order on purpose: the timeline sorts by step.
const CHECKPOINTS: CheckpointResults[] = [
  { step: 120, diagnostics: diagnosticsAt(0.9, 2, [0.3, 0.5]), probes: probesAt(2, 0.97), sae: saeAt([0, 0, 0.8, 0.1]) },
  { step: 40, diagnostics: diagnosticsAt(0.3, 1, [0.0, 0.1]), probes: probesAt(1, 0.8), sae: saeAt([0, 0, 0, 0]) },
  { step: 80, diagnostics: diagnosticsAt(0.6, 2, [0.2, 0.2]) },
];

test('timeline rows: in step order, last-layer mlp dominance, mean identity distance, last-layer probes, last SAE layer', () => {
  const t = buildTimeline(CHECKPOINTS, N);
  assert.deepEqual(t.rows.map((r) => r.step), [40, 80, 120]);
  assert.deepEqual(t.rows.map((r) => r.dominance), [0.3, 0.6, 0.9]);
  assert.deepEqual(t.rows.map((r) => r.dominant), [1, 2, 2]);
  assert.deepEqual(t.rows.map((r) => r.layer), [2, 2, 2]);
  const id = t.rows.map((r) => r.identity_distance as number);
  for (const [k, want] of [0.05, 0.2, 0.4].entries()) assert.ok(Math.abs((id[k] as number) - want) < 1e-12, `identity distance at row ${k}: ${id[k]}`);
  assert.deepEqual(t.rows[2]?.identity_by_module.map((m) => m.module), ['L0 attn', 'L0 mlp'], 'modules in forward order');
  assert.deepEqual(t.labels, ['topic']);
  const topic = (k: number) => t.rows[k]?.probes.find((p) => p.label === 'topic');
  assert.deepEqual(topic(0)?.accuracy, [0.3, 0.8, 0.3, 0.3]);
  assert.deepEqual(topic(2)?.accuracy, [0.3, 0.3, 0.97, 0.3]);
  assert.equal(topic(2)?.sum, 0.95);
  assert.deepEqual([topic(2)?.site, topic(2)?.layer, topic(2)?.module], ['resid_post', 2, 'mlp']);
  assert.equal(t.rows[1]?.probes.length, 0, 'no probes at step 80');
  assert.deepEqual(t.rows[2]?.sae?.by_stream, [0, 0, 0.8, 0.1]);
  assert.equal(t.rows[2]?.sae?.layer, 1);
  assert.deepEqual(t.rows[2]?.sae?.mean_shares, [0.25, 0.25, 0.25, 0.25], 'the last layer, not layer 0');
  assert.equal(t.rows[1]?.sae, null);
});

/** fakeRun with every module's identity distance at each step set by `f`. */
function withIdentity(f: (step: number) => number): RunData {
  const run = fakeRun({ steps: 200 });
  const metrics: MetricsRecord[] = run.metrics.map((m) => (m.hc ? { ...m, hc: { ...m.hc, modules: m.hc.modules.map((k) => ({ ...k, identity_distance: f(m.step) })) } } : m));
  return { ...run, metrics };
}

/** Every module's identity distance rises linearly to 0.3 at step 60, then stays. */
const settlingRun = () => withIdentity((step) => 0.3 * Math.min(1, step / 60));

test('the Over training section: figures in order, seeding end marked at the planted step on each, dominant streams labelled', () => {
  const run = settlingRun();
  assert.equal(seedingEndStep(run.metrics), 60);
  const s = overTrainingSection(buildTimeline(CHECKPOINTS, N), run);
  assert.ok(s);
  assert.equal(s.id, 'over-training');
  assert.deepEqual(s.figures.map((f) => f.id), ['timeline-dominance', 'timeline-identity', 'timeline-probe-0', 'timeline-sae', 'timeline-sae-shares']);
  for (const f of s.figures) {
    checkXml(f.svg);
    assert.ok(texts(f.svg).includes('seeding ends ≈ step 60'), `${f.id} marks the seeding end`);
    assert.equal((f.svg.match(/class="x-ref"/g) ?? []).length, 1, f.id);
  }
  const dom = texts(s.figures[0]?.svg ?? '');
  for (const label of ['s1', 's2']) assert.ok(dom.includes(label), `dominant stream ${label} is marked`);
  assert.ok(!dom.includes('s3'), 'the decoy at layer 0 is not used');
  assert.match(s.html ?? '', /<td>120<\/td><td>0\.900<\/td><td>2<\/td>/);
  assert.match(s.html ?? '', /s2 \(0\.970\)/);
  assert.match(s.html ?? '', /<td>40<\/td>.*none above 0\.5.*<td>80<\/td>/, 'no concentrated latent is not stream 0');
});

test('no per-checkpoint results: no section; a run whose mixing never settles: no seeding line', () => {
  assert.equal(overTrainingSection(buildTimeline([], N), fakeRun()), undefined);
  const rising = withIdentity((step) => 2 ** (step / 10));
  assert.equal(seedingEndStep(rising.metrics), undefined);
  const s = overTrainingSection(buildTimeline(CHECKPOINTS, N), rising);
  for (const f of s?.figures ?? []) assert.ok(!f.svg.includes('class="x-ref"'), f.id);
});
