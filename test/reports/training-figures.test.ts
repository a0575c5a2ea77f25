// Figures from metrics.jsonl alone: every one is well-formed and labelled; the seeding stage
// ends where the identity distance settles; the unfolded matrix has known values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summariseRun } from '../../reports/run-data.ts';
import { identityDistanceHeatmap, lossCurves, seedingStageEnd, trainingFigures } from '../../reports/training-figures.ts';
import { unfoldedFromDiagnostics, unfoldedTable } from '../../reports/unfolded-connection.ts';
import { unfoldedConnections } from '../../src/stats/unfolded.ts';
import { fakeRun } from './fixtures.ts';
import { checkXml, texts } from './xml-check.ts';

test('every training figure of an HC run is well-formed SVG with a title and a unique id', () => {
  const figs = trainingFigures(fakeRun());
  assert.deepEqual(figs.map((f) => f.id), ['loss', 'dominance-over-training', 'signal-shares', 'n-eff', 'identity-distance', 'read-shares', 'write-shares', 'unfolded-connection']);
  for (const f of figs) {
    checkXml(f.svg);
    assert.match(f.svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.ok(f.caption.length > 20);
  }
});

test('a residual run gets the loss alone: one stream has nothing to share or mix', () => {
  const figs = trainingFigures(fakeRun({ connection: 'residual' }));
  assert.deepEqual(figs.map((f) => f.id), ['loss']);
  for (const f of figs) checkXml(f.svg);
});

test('loss curves: train and validation series per run, named by run when comparing', () => {
  const one = texts(lossCurves([fakeRun()]).svg);
  assert.ok(one.includes('train') && one.includes('validation') && one.includes('cross-entropy (nats/token)'));
  const two = texts(lossCurves([fakeRun({ name: 'a' }), fakeRun({ name: 'b' })]).svg);
  for (const s of ['a: train', 'a: validation', 'b: train', 'b: validation']) assert.ok(two.includes(s), s);
});

test('an empty run draws notes, not broken figures', () => {
  const run = { ...fakeRun(), metrics: [] };
  for (const f of trainingFigures(run)) checkXml(f.svg);
  assert.ok(texts(lossCurves([run]).svg).includes('no metrics logged'));
});

test('seeding stage: ends at the first step from which the identity distance stays near its final value', () => {
  // fakeRun's mixing moves linearly until step 100 then stays put.
  const run = fakeRun({ steps: 200 });
  const end = seedingStageEnd(run.metrics);
  assert.ok(end !== undefined);
  const step = run.metrics[end]?.step as number;
  assert.ok(step >= 70 && step <= 100, `seeding ends at step ${step}`);
  assert.ok(texts(identityDistanceHeatmap(run).svg).some((t) => t.startsWith('seeding ends ≈ step')));
  // Still moving at the last step: no end.
  const moving = run.metrics.slice(0, 5).map((m, i) => ({ ...m, hc: { ...(m.hc as NonNullable<typeof m.hc>), modules: (m.hc?.modules ?? []).map((d) => ({ ...d, identity_distance: 0.1 * i })) } }));
  assert.equal(seedingStageEnd(moving), undefined);
});

test('unfolded connection: known values for two streams', () => {
  // Module 0 reads stream 0 and writes stream 1; module 1 swaps the streams after reading;
  // module 2 reads stream 0. T^0 sits in stream 1, reaches module 1 with weight read1[1] = 0.5,
  // and module 2 after module 1's swap with weight read2[0] = 1.
  const I = [[1, 0], [0, 1]];
  const swap = [[0, 1], [1, 0]];
  const modules = [
    { layer: 0, module: 'attn' as const, read: [1, 0], mixing: I, write: [0, 1] },
    { layer: 0, module: 'mlp' as const, read: [0.5, 0.5], mixing: swap, write: [2, 0] },
    { layer: 1, module: 'attn' as const, read: [1, 0], mixing: I, write: [1, 1] },
  ];
  // metrics.jsonl carries the matrix that src/train/hc-diagnostics.ts computes this way.
  const unfolded = unfoldedConnections(modules);
  const u = unfoldedFromDiagnostics({ modules: modules as never, unfolded: { matrix: unfolded.matrix, embed: unfolded.embed } });
  assert.ok(u);
  assert.deepEqual(u.readers, ['L0 attn', 'L0 mlp', 'L1 attn']);
  assert.deepEqual(u.writers, ['embed', 'L0 attn', 'L0 mlp']);
  assert.deepEqual(u.c, [
    [1, null, null],
    [1, 0.5, null],
    [1, 1, 2],
  ]);
  assert.deepEqual(unfoldedTable(['a', 'b'], [[0, 0], [2, 0]], [1, 1]).c, [[1, null], [1, 2]]);
});

test('run summary: final validation loss and last-layer dominance', () => {
  const s = summariseRun(fakeRun({ nLayers: 2 }));
  assert.equal(s.steps, 200);
  assert.ok(Math.abs((s.finalValLoss as number) - (5 * Math.exp(-200 / 80) + 2.05)) < 1e-12);
  assert.ok(Math.abs((s.lastLayerDominance as number) - 0.8) < 1e-12);
  assert.equal(s.lastLayerDominant, 1);
});
