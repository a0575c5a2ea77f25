// The comparison page: one table row per run, every figure id unique across the columns,
// and a note where a run has nothing to draw.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderCompare, withIdPrefix } from '../../reports/compare-report.ts';
import { diagnosticsSection } from '../../reports/diagnostics-figures.ts';
import { fakeDiagnostics, fakeRun } from './fixtures.ts';
import { checkXml } from './xml-check.ts';

test('compare: a row per run, unique ids, side-by-side results, a note for the residual run', () => {
  const r = renderCompare([
    { run: fakeRun({ name: 'a' }), sections: [diagnosticsSection(fakeDiagnostics())] },
    { run: fakeRun({ name: 'b', nStreams: 2 }), sections: [] },
    { run: fakeRun({ name: 'c', connection: 'residual' }), sections: [] },
  ]);
  const ids = r.figures.map((f) => f.id);
  assert.equal(new Set(ids).size, ids.length, 'figure ids are unique');
  for (const f of r.figures) {
    checkXml(f.svg);
    assert.ok(r.html.includes(`id="${f.id}"`));
  }
  assert.ok(ids.includes('r0-diag-ablation-zero') && ids.includes('r1-signal-shares') && !ids.includes('r2-signal-shares'));
  const rows = r.html.match(/<tr><td>/g)?.length;
  assert.equal(rows, 3);
  assert.match(r.html, /One stream: no shares or mixing to draw/);
  assert.match(r.html, /No such results for this run/);
});

test('withIdPrefix renames the element id and its title reference only', () => {
  const f = withIdPrefix({ id: 'loss', svg: '<svg id="loss" aria-labelledby="loss-title"><title id="loss-title">loss</title></svg>', caption: '' }, 'r1');
  assert.equal(f.id, 'r1-loss');
  assert.equal(f.svg, '<svg id="r1-loss" aria-labelledby="r1-loss-title"><title id="r1-loss-title">loss</title></svg>');
});
