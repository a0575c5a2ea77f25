// The figure functions are pure: each returns one well-formed SVG with its axis labels,
// legend and the expected number of marks; hostile strings stay text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { interpolateRdBu } from 'd3-scale-chromatic';
import { heatmap } from '../../reports/figures/heatmap.ts';
import { lineChart } from '../../reports/figures/line-chart.ts';
import { stackedBars } from '../../reports/figures/stacked-bars.ts';
import { OKABE_ITO, textColorOn } from '../../reports/palette.ts';
import { XSS_IMG, XSS_SCRIPT } from './fixtures.ts';
import { checkXml, countTags, texts } from './xml-check.ts';

test('line chart: one path per series, axis labels, legend, reference line', () => {
  const svg = lineChart({
    id: 'l', title: 'Loss', xLabel: 'training step', yLabel: 'nats',
    series: [{ name: 'train', points: [[0, 3], [10, 2], [20, 1.5]] }, { name: 'val', points: [[10, 2.1], [20, Number.NaN]], dash: '4 2', markers: true }],
    refLines: [{ y: 1, label: 'floor' }],
  });
  checkXml(svg);
  assert.equal(countTags(svg, 'path'), 2);
  assert.equal(countTags(svg, 'circle'), 1, 'no marker for a NaN point');
  const t = texts(svg);
  for (const label of ['Loss', 'training step', 'nats', 'train', 'val', 'floor']) assert.ok(t.includes(label), `${label} in ${t}`);
  assert.match(svg, /stroke-dasharray="4 2"/);
});

test('heatmap: one cell per value, null cells marked not measured, a colour bar with the value label', () => {
  const values = [[0, 0.5, null], [1, 0.25, 0.75]];
  const svg = heatmap({ id: 'h', title: 'T', xLabel: 'step', yLabel: 'module', rows: ['a', 'b'], cols: ['1', '2', '3'], values, scheme: 'viridis', valueLabel: 'distance', colMarkers: [{ col: 1, label: 'seeding ends' }] });
  checkXml(svg);
  assert.equal(svg.match(/class="cell"/g)?.length, 6);
  const t = texts(svg);
  assert.ok(t.includes('a · 3: not measured'));
  assert.ok(t.includes('b · 2: 0.25'));
  for (const label of ['step', 'module', 'distance', 'seeding ends']) assert.ok(t.includes(label), label);
});

test('diverging heatmap is symmetric about its centre: the centre value is the middle colour', () => {
  const svg = heatmap({ id: 'd', title: 'T', xLabel: 'x', yLabel: 'y', rows: ['r'], cols: ['lo', 'mid', 'hi'], values: [[-1, 0, 3]], scheme: 'diverging', center: 0, valueLabel: 'v' });
  const fills = [...svg.matchAll(/<rect[^>]*fill="([^"]+)" class="cell"/g)].map((m) => m[1]);
  assert.equal(fills.length, 3);
  assert.equal(fills[1], interpolateRdBu(0.5), 'zero maps to the white middle of RdBu');
  assert.notEqual(fills[0], fills[2]);
  const t = texts(svg);
  assert.ok(t.includes('−2') && t.includes('2'), `the colour bar is symmetric about 0 (−3 to 3): ${t}`);
});

test('stacked bars: one rect per share, a legend entry per stream', () => {
  const svg = stackedBars({ id: 's', title: 'Shares', xLabel: 'layer', yLabel: 'share', categories: ['L0', 'L1'], shares: [[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]], partLabel: (k) => `stream ${k}` });
  checkXml(svg);
  assert.equal(svg.match(/class="bar"/g)?.length, 6);
  const t = texts(svg);
  for (const label of ['stream 0', 'stream 1', 'stream 2', 'layer', 'share', 'L1 · stream 2: 80.0%']) assert.ok(t.includes(label), label);
  for (let k = 0; k < 3; k++) assert.ok(svg.includes(`fill="${OKABE_ITO[k]}"`));
});

test('hostile labels and titles are escaped in every figure kind', () => {
  const hostile = [XSS_SCRIPT, XSS_IMG];
  const svgs = [
    lineChart({ id: 'x', title: XSS_SCRIPT, xLabel: XSS_IMG, yLabel: 'y', series: [{ name: XSS_SCRIPT, points: [[0, 1], [1, 2]] }] }),
    heatmap({ id: 'x', title: XSS_IMG, xLabel: 'x', yLabel: 'y', rows: hostile, cols: hostile, values: [[1, 2], [3, 4]], scheme: 'viridis', valueLabel: XSS_SCRIPT }),
    stackedBars({ id: 'x', title: 't', xLabel: 'x', yLabel: 'y', categories: hostile, shares: [[1], [1]], partLabel: () => XSS_IMG }),
  ];
  for (const svg of svgs) {
    checkXml(svg);
    assert.doesNotMatch(svg, /<script|<img/);
    assert.ok(texts(svg).some((t) => t.includes(XSS_SCRIPT) || t.includes(XSS_IMG)), 'the text is still shown');
  }
});

test('text colour on a cell: white on dark, black on light', () => {
  assert.equal(textColorOn('#000000'), '#fff');
  assert.equal(textColorOn('#ffffff'), '#000');
  assert.equal(textColorOn('rgb(68, 1, 84)'), '#fff');
  assert.equal(textColorOn('rgb(253, 231, 37)'), '#000');
});
