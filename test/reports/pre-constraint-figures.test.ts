// The pre-constraint figures from hand-made results: the ν histogram draws one bar per non-empty
// bin with the bins above 30 set apart and the threshold marked; the column-sum boxes draw one box
// per column index with the line at 1; mHC-lite gets the entropy plot and no per-module heatmap,
// HC neither ν nor entropy; the diagnostics section carries them, and hostile text stays text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PreConstraintDiagnostics, TokenQuantiles } from '../../probes/pre-constraint.ts';
import { diagnosticsSection } from '../../reports/diagnostics-figures.ts';
import { binnedHistogram } from '../../reports/figures/binned-histogram.ts';
import { quantileBoxes } from '../../reports/figures/quantile-boxes.ts';
import { OKABE_ITO } from '../../reports/palette.ts';
import { distinctFormat } from '../../reports/svg.ts';
import { preConstraintFigures, preConstraintHtml } from '../../reports/pre-constraint-figures.ts';
import { fakeDiagnostics, XSS_SCRIPT } from './fixtures.ts';
import { checkXml, countTags, texts } from './xml-check.ts';

const q = (m: number, w = 0.1): TokenQuantiles => ({ mean: m, std: w / 2, min: m - 2 * w, q05: m - w, q25: m - w / 2, q50: m, q75: m + w / 2, q95: m + w, max: m + 2 * w });
const MODULES = ['0.attn', '0.mlp', '1.attn', '1.mlp'];

function fake(connection: PreConstraintDiagnostics['connection'], n = 3): PreConstraintDiagnostics {
  const counts = new Array<number>(50).fill(0);
  counts[10] = 300; // ν ≈ 8.4
  counts[49] = 100; // ν ≈ 41.6, above 30
  const cols = Array.from({ length: n }, (_, t) => q(connection === 'mhc-lite' ? 1 : 0.9 + 0.1 * t));
  return {
    checkpoint: 'ck',
    connection,
    tokens: 100,
    modules: MODULES,
    nu: connection === 'hc' ? null : {
      over: connection === 'mhc' ? 'sinkhorn_input' : 'permutation_logits', entries: connection === 'mhc' ? n * n : 6, threshold: 30, share_above: 0.25,
      spread: q(12, 8), histogram: { lo: 0, hi: 42.5, counts }, per_module: MODULES.map((_, k) => ({ spread: q(10 + k), share_above: k === 3 ? 1 : 0 })),
    },
    column_sums: { per_column: cols, per_module: MODULES.map(() => cols), max_abs_deviation: connection === 'mhc-lite' ? 1e-7 : 0.3 },
    product_column_sums: { per_column: cols.map((c) => q(c.q50 ** 4, 0.3)), max_abs_deviation: 0.7 },
    permutations: connection !== 'mhc-lite' ? null : { n_permutations: 6, entropy: q(0.2), per_module_entropy: MODULES.map((_, k) => q(0.1 * k + 0.05, 0.04)), identity_top_share: 0.75, per_module_identity_top_share: [1, 1, 1, 0] },
  };
}

test('binned histogram: one bar per non-empty bin, bins from the threshold on in the second colour, the line drawn', () => {
  const svg = binnedHistogram({ id: 'h', title: 'ν', xLabel: 'nu', yLabel: 'count', lo: 0, hi: 50, counts: [3, 0, 2, 0, 12_000], highlightFrom: { x: 30, below: 'low', above: 'high' }, refLines: [{ x: 30, label: 'thirty' }, { x: 99, label: 'off the axis' }] });
  checkXml(svg);
  assert.equal(svg.match(/class="bar"/g)?.length, 3);
  const t = texts(svg);
  for (const label of ['ν', 'nu', 'count', 'low', 'high', 'thirty', '3 in [0, 10)', '12000 in [40, 50]']) assert.ok(t.includes(label), `${label} in ${t}`);
  assert.ok(!t.includes('off the axis'), 'a reference line outside the bins is left out');
  assert.equal(svg.match(/class="ref"/g)?.length, 1);
  assert.ok(svg.includes(`fill="${OKABE_ITO[3]}" class="bar"`), 'the bin at 40–50 is highlighted');
});

test('quantile boxes: one box per category and series, reference line, legend only for several series', () => {
  const one = quantileBoxes({ id: 'b', title: 'T', xLabel: 'column index t', yLabel: 'column sum', categories: ['0', '1'], series: [{ name: 'A_r', boxes: [q(1), null] }], refLines: [{ y: 1, label: 'one' }] });
  checkXml(one);
  assert.equal(countTags(one, 'rect') - 1, 1, 'one box (the other rect is the background)');
  assert.ok(texts(one).includes('0: 5% 0.9, 25% 0.95, median 1, 75% 1.05, 95% 1.1, mean 1'));
  assert.ok(texts(one).includes('one'));
  const two = quantileBoxes({ id: 'b2', title: 'T', xLabel: 'x', yLabel: 'y', categories: ['a', 'b', 'c'], series: [{ name: 'first', boxes: [q(1), q(2), q(3)] }, { name: 'second', boxes: [q(0), q(0), q(0)] }] });
  checkXml(two);
  assert.equal(two.match(/class="box"/g)?.length, 6);
  assert.ok(texts(two).includes('second') && texts(two).includes('b · first: 5% 1.9, 25% 1.95, median 2, 75% 2.05, 95% 2.1, mean 2'));
  // mHC-lite's column sums differ from 1 by float round-off only: the axis stays readable (distinct
  // tick labels around 1), instead of magnifying 1e-7 until every tick reads "1".
  const flat = quantileBoxes({ id: 'b3', title: 'T', xLabel: 'x', yLabel: 'y', categories: ['0'], series: [{ name: 'A_r', boxes: [q(1, 1e-7)] }] });
  const ticks = texts(flat).filter((t) => /^[0-9.]+$/.test(t) && t !== '0');
  assert.ok(ticks.length >= 3 && new Set(ticks).size === ticks.length, `tick labels ${JSON.stringify(ticks)}`);
  assert.ok(ticks.some((t) => Number(t) < 0.99) && ticks.some((t) => Number(t) > 1.01), `tick labels ${JSON.stringify(ticks)}`);
});

test('per kind: mhc has ν, the boxes and the heatmap; mhc-lite ν, boxes and entropy; hc boxes and heatmap only', () => {
  const ids = (c: PreConstraintDiagnostics['connection']) => preConstraintFigures({ ...fakeDiagnostics(), pre_constraint: fake(c) }).map((f) => f.id);
  assert.deepEqual(ids('mhc'), ['diag-pre-constraint-nu', 'diag-pre-constraint-colsums', 'diag-pre-constraint-colsums-modules', 'diag-pre-constraint-product-colsums']);
  assert.deepEqual(ids('mhc-lite'), ['diag-pre-constraint-nu', 'diag-pre-constraint-colsums', 'diag-pre-constraint-product-colsums', 'diag-pre-constraint-entropy']);
  assert.deepEqual(ids('hc'), ['diag-pre-constraint-colsums', 'diag-pre-constraint-colsums-modules', 'diag-pre-constraint-product-colsums']);
  assert.deepEqual(preConstraintFigures(fakeDiagnostics()), [], 'older files without the field draw nothing');
  for (const c of ['mhc', 'mhc-lite', 'hc'] as const) for (const f of preConstraintFigures({ ...fakeDiagnostics(), pre_constraint: fake(c) })) checkXml(f.svg);
});

test('captions say what the numbers mean for each kind', () => {
  const figs = (c: PreConstraintDiagnostics['connection']) => new Map(preConstraintFigures({ ...fakeDiagnostics(), pre_constraint: fake(c) }).map((f) => [f.id, f]));
  const mhc = figs('mhc');
  const nu = mhc.get('diag-pre-constraint-nu');
  assert.ok(nu);
  assert.match(nu.caption, /25\.0% of 400 \(token, module\) pairs have ν > 30/);
  assert.match(nu.caption, /far from uniform/);
  assert.ok(texts(nu.svg).includes('ν > 30 (25.0%)'));
  assert.match(mhc.get('diag-pre-constraint-colsums')?.caption ?? '', /rows sum to 1 and the column sums hold what 20 iterations left undone/);
  assert.match(figs('hc').get('diag-pre-constraint-colsums')?.caption ?? '', /not doubly stochastic/);
  assert.match(figs('hc').get('diag-pre-constraint-product-colsums')?.caption ?? '', /compound/);
  const lite = figs('mhc-lite');
  assert.match(lite.get('diag-pre-constraint-colsums')?.caption ?? '', /exactly 1 by construction/);
  assert.match(lite.get('diag-pre-constraint-nu')?.caption ?? '', /not the paper's ν/);
  assert.match(lite.get('diag-pre-constraint-entropy')?.caption ?? '', /largest weight for 75\.0%/);
  assert.equal(lite.get('diag-pre-constraint-entropy')?.svg.match(/class="box"/g)?.length, 5, 'four modules and all');
});

test('the diagnostics section carries the figures and the per-module table; hostile text is escaped', () => {
  const d = { ...fakeDiagnostics(), pre_constraint: { ...fake('mhc-lite'), checkpoint: XSS_SCRIPT } };
  const s = diagnosticsSection(d);
  assert.ok(s.figures.some((f) => f.id === 'diag-pre-constraint-entropy'));
  const sectionHtml = s.html ?? '';
  assert.ok(sectionHtml.includes('identity on top'));
  assert.ok(!sectionHtml.includes(XSS_SCRIPT) && sectionHtml.includes('&lt;script&gt;'));
  const html = preConstraintHtml(d);
  assert.equal(html.match(/<tr>/g)?.length, 1 + MODULES.length);
  assert.equal(preConstraintHtml(fakeDiagnostics()), '');
});

test('axis ticks that three significant digits would print alike get the decimals their step needs', () => {
  assert.equal(distinctFormat([0.5, 1, 1.5])(1.5), '1.5');
  const f = distinctFormat([0.998, 0.999, 1, 1.001, 1.002]);
  assert.deepEqual([0.998, 0.999, 1, 1.001, 1.002].map(f), ['0.998', '0.999', '1.000', '1.001', '1.002']);
  const g = distinctFormat([0.9995, 1, 1.0005]);
  assert.deepEqual([0.9995, 1, 1.0005].map(g), ['0.9995', '1.0000', '1.0005']);
});
