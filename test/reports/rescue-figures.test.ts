// Ablate-and-rescue figures from a hand-written result: per layer a pair-ablation and a rescue
// heatmap, well-formed, carrying the numbers; the automatic reading says redundancy at L0 (two
// streams that cover for each other) and dependence at L1 (only stream 2 restores stream 2).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AblateRescue } from '../../probes/results-schema.ts';
import { diagnosticsSection } from '../../reports/diagnostics-figures.ts';
import { rescueFigures, rescueHtml, rescueReading } from '../../reports/rescue-figures.ts';
import { fakeDiagnostics } from './fixtures.ts';
import { checkXml, texts } from './xml-check.ts';

function fakeRescue(): AblateRescue {
  const ablate = [[0.05, 0.05, 0.0005], [0.02, 0.01, 0.8]];
  const pair = [
    [[0.05, 0.6, 0.05], [0.6, 0.05, 0.05], [0.05, 0.05, 0.0005]],
    [[0.02, 0.03, 0.82], [0.03, 0.01, 0.81], [0.82, 0.81, 0.8]],
  ];
  const rescue = [
    [[0, 0.002, 0.04], [0.002, 0, 0.04], [0.0004, 0.0003, 0]],
    [[0, 0.015, 0.5], [0.008, 0, 0.4], [0.78, 0.75, 0]],
  ];
  return {
    tokens: 2048, batches: 8, loss: 2.5,
    energy: [[1, 1, 0.01], [0.5, 0.4, 3]], dominant: [0, 2],
    ablate, ablate_ci_low: ablate.map((r) => r.map((x) => x - 0.01)), ablate_ci_high: ablate.map((r) => r.map((x) => x + 0.01)),
    pair_ablation: pair, rescue,
    rescued_fraction: rescue.map((rows, l) => rows.map((row, i) => row.map((v) => (Math.abs(ablate[l]?.[i] as number) < 1e-3 ? null : 1 - v / (ablate[l]?.[i] as number))))),
    min_ablate_delta: 1e-3,
  };
}

test('rescue figures: a pair-ablation and a rescue heatmap per layer, well-formed, with the numbers', () => {
  const figs = rescueFigures(fakeRescue());
  assert.deepEqual(figs.map((f) => f.id), ['diag-pair-ablation-l0', 'diag-rescue-l0', 'diag-pair-ablation-l1', 'diag-rescue-l1']);
  for (const f of figs) {
    checkXml(f.svg);
    assert.equal(f.svg.match(/class="cell"/g)?.length, 9, `${f.id}: n × n cells`);
    assert.ok(f.caption.length > 80);
  }
  const pair1 = texts(figs[2]?.svg ?? '');
  assert.ok(pair1.includes('stream 2 · stream 2: 0.8'), 'the diagonal is stream 2 zeroed alone');
  assert.ok(pair1.includes('stream 0 · stream 2: 0.82'));
  assert.ok(pair1.includes('0.81') && pair1.includes('Δ loss (nats)'));
  const rescue1 = texts(figs[3]?.svg ?? '');
  assert.ok(rescue1.includes('stream 2 · stream 0: 0.03'), 'copying stream 0 in recovers 1 − 0.78/0.8');
  assert.ok(rescue1.includes('stream 2 · stream 2: 1.00') && rescue1.includes('rescued fraction'));
  const rescue0 = texts(figs[1]?.svg ?? '');
  assert.ok(rescue0.includes('stream 0 · stream 1: 0.96'), 'stream 1 stands in for stream 0');
  assert.ok(rescue0.some((t) => t.startsWith('stream 2 · stream 0: zeroing it changes the loss by less than 0.001 nats')), 'the empty row says why');
  assert.match(figs[3]?.caption ?? '', /Column 2 copies in the dominant stream/);
});

test('rescue reading: redundancy at L0, dependence on stream 2 at L1', () => {
  const [l0, l1] = rescueReading(fakeRescue());
  assert.match(l0 ?? '', /^At L0, zeroing stream 0 costs 0\.050 nats, and copying stream 1 into its slot rescues 96% of that: stream 1 can stand in for it/);
  assert.match(l0 ?? '', /Zeroing streams 0 and 1 together costs 0\.600 nats, against 0\.100 for the two alone: each covers for the other\./);
  assert.match(l1 ?? '', /^At L1, zeroing stream 2 costs 0\.800 nats and no other stream rescues it \(best: stream 1, 6%\): the model depends on stream 2\. Stream 2 is also the dominant stream there/);
  const quiet = fakeRescue();
  quiet.ablate = quiet.ablate.map((r) => r.map(() => 0.004));
  assert.match(rescueReading(quiet)[0] ?? '', /needs no single stream there/);
  const html = rescueHtml(fakeRescue());
  checkXml(`<div>${html}</div>`);
  assert.match(html, /2048 validation tokens, 8 batches/);
  assert.doesNotMatch(html, /Warning/);
  const broken = fakeRescue();
  (broken.rescue[1]?.[0] as number[])[0] = 0.01;
  assert.match(rescueHtml(broken), /Warning: restoring a stream from the clean run changed the loss by up to 0\.010 nats/);
});

test('the diagnostics section draws the rescue figures and reading when the result has them', () => {
  const d = fakeDiagnostics(3, 2);
  const none = diagnosticsSection(d);
  assert.ok(!none.figures.some((f) => f.id.startsWith('diag-rescue')));
  assert.ok(d.causal);
  d.causal.ablate_rescue = fakeRescue();
  const s = diagnosticsSection(d);
  const ids = s.figures.map((f) => f.id);
  assert.deepEqual(ids.slice(-4), ['diag-pair-ablation-l0', 'diag-rescue-l0', 'diag-pair-ablation-l1', 'diag-rescue-l1']);
  assert.match(s.html ?? '', /the model depends on stream 2/);
});

test('the mixing-interventions table prints an interval, and no interval for one batch rather than [0.000, 0.000]', () => {
  const d = fakeDiagnostics(3, 2);
  assert.ok(d.causal);
  d.causal.mixing_interventions = [
    { name: 'identity', delta_ce: 0.25, ci_low: 0.125, ci_high: 0.375, batches: 4 },
    { name: 'permuted', delta_ce: 0.5, ci_low: null, ci_high: null, batches: 1 },
  ];
  const html = diagnosticsSection(d).html ?? '';
  assert.match(html, /<td>0\.250<\/td><td>\[0\.125, 0\.375\]<\/td><td>4<\/td>/);
  assert.match(html, /<td>0\.500<\/td><td>none \(one batch\)<\/td><td>1<\/td>/);
  assert.doesNotMatch(html, /\[0\.000, 0\.000\]/);
});
