// The attribution figures: a DLA heatmap with one row per source and a bar per stream drawn from
// known numbers, the arrangement's sentences and table in the diagnostics section, and nothing
// drawn from older files that lack the fields.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layerArrangement } from '../../probes/layer-arrangement.ts';
import type { DiagnosticsResult } from '../../probes/results-schema.ts';
import { arrangementHtml, attributionFigures } from '../../reports/attribution-figures.ts';
import { diagnosticsSection } from '../../reports/diagnostics-figures.ts';
import { barChart } from '../../reports/figures/bar-chart.ts';
import { fakeDiagnostics } from './fixtures.ts';
import { checkXml, countTags } from './xml-check.ts';

function withAttribution(): DiagnosticsResult {
  const d = fakeDiagnostics(3, 1);
  const matrix = [[0.5, 0.25, 0], [1, -0.5, 0], [2, 0.75, 0]];
  const causal = d.causal as NonNullable<DiagnosticsResult['causal']>;
  causal.direct_logit_attribution = {
    baseline: 'mean_logit', tokens: 64, sources: ['embed', '0.attn', '0.mlp'], matrix,
    per_stream: [3.5, 0.5, 0], per_source: [0.75, 0.5, 2.75], ln_bias: 0.125, logit: 4.125, max_abs_error: 3e-6,
  };
  d.unfolded = { modules: ['0.attn', '0.mlp', '1.attn'], matrix: [[0, 0, 0], [0.01, 0, 0], [1, 1, 0]], embed: [1, 1, 1], output: [1, 1, 1] };
  d.layer_arrangement = layerArrangement(d.unfolded);
  return d;
}

test('DLA heatmap and per-stream bars carry the known values', () => {
  const figs = attributionFigures(withAttribution());
  assert.deepEqual(figs.map((f) => f.id), ['diag-dla-matrix', 'diag-dla-streams']);
  for (const f of figs) checkXml(f.svg);
  const [heat, bars] = figs as [(typeof figs)[0], (typeof figs)[0]];
  assert.match(heat.svg, />L0 mlp</);
  assert.match(heat.caption, /sum to 4\.000 = the model's 4\.125 minus ln_f's bias part 0\.125/);
  assert.equal(countTags(bars.svg, 'rect') - 1, 3, 'one bar per stream besides the background');
  assert.match(bars.svg, /stream 0: 3\.5/);
});

test('signed bars: a negative value hangs below the zero line', () => {
  const svg = barChart({ id: 'b', title: 't', xLabel: 'x', yLabel: 'y', categories: ['a', 'b'], values: [1, -1] });
  checkXml(svg);
  const ys = [...svg.matchAll(/<rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
  assert.equal(ys.length, 2);
  const [[ya, ha], [yb]] = ys as [[number, number], [number, number]];
  assert.ok(Math.abs(ya + ha - yb) < 0.02, `a ends where b starts (the zero line): ${ya}+${ha} vs ${yb}`);
});

test('the diagnostics section shows the arrangement sentences and table, and the figures', () => {
  const d = withAttribution();
  const s = diagnosticsSection(d);
  assert.ok(s.figures.some((f) => f.id === 'diag-dla-matrix'));
  assert.match(s.html ?? '', /L0 attn and L0 mlp run in parallel: L0 mlp reads L0 attn&#39;s output with weight 0\.0099 of its input/);
  assert.match(arrangementHtml(d), /<td>parallel<\/td>.*<td>sequential<\/td>/);
});

test('older files without the fields draw nothing new', () => {
  const d = fakeDiagnostics();
  assert.deepEqual(attributionFigures(d), []);
  assert.equal(arrangementHtml(d), '');
});
