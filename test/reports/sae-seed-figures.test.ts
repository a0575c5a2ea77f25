// SAE evidence in the report: attribution across seeds (a dot per seed), the stability verdict in
// words, and the KL / shrinkage / near-duplicate table.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { saeSection } from '../../reports/sae-figures.ts';
import { seedFigures, stabilityText } from '../../reports/sae-seed-figures.ts';
import type { SaeSummary, SeedAttribution } from '../../sae/results-schema.ts';
import { seedStability } from '../../sae/seed-stability.ts';
import { fakeSaeSummary } from './fixtures.ts';
import { checkXml, countTags } from './xml-check.ts';

const seed = (s: number, top: number[], majority: number): SeedAttribution => ({ seed: s, path: s === 0 ? 'layer=1' : `seeds/seed=${s}/layer=1`, live: 100, top_stream: top, by_stream: top, mean_top_share: 0.8, majority, ev: 0.9 });

function withSeeds(tops: number[][]): SaeSummary {
  const s = fakeSaeSummary('concat');
  const saes = s.saes.map((x) => ({ ...x, eval: { ...x.eval, shrinkage: 0.91, decoder: { mean_max_cos: 0.4, near_duplicate: 0.125, threshold: 0.9 }, ce: x.eval.ce && { ...x.eval.ce, kl: 0.0123 } } }));
  return { ...s, saes, seed_stability: [seedStability(1, tops.map((t, i) => seed(i, t, t.indexOf(Math.max(...t)))))] };
}

test('seeds figure: one hollow dot per seed and stream, the verdict names the stable stream', () => {
  const s = withSeeds([[0.1, 0.7, 0.1, 0.1], [0.2, 0.6, 0.1, 0.1], [0.1, 0.8, 0.05, 0.05]]);
  const { figures, html } = seedFigures([s]);
  assert.equal(figures.length, 1);
  const svg = figures[0]?.svg ?? '';
  checkXml(svg);
  assert.equal(countTags(svg, 'circle'), 4 * 3 + 4, 'a dot per seed and stream, plus the means');
  assert.match(figures[0]?.caption ?? '', /Stable: every seed puts most live latents in stream 1 \(60\.0%–80\.0%/);
  assert.ok(html.includes('0.0123') && html.includes('0.910') && html.includes('12.5%'), 'KL, shrinkage and near-duplicate share in the table');
  assert.ok(saeSection([s], []).figures.some((f) => f.id === 'sae-seed-attribution-concat-layer-1'));
});

test('an unstable majority is reported as such, with each seed\'s stream', () => {
  const st = withSeeds([[0.1, 0.7, 0.1, 0.1], [0.6, 0.2, 0.1, 0.1]]).seed_stability?.[0];
  assert.ok(st);
  const text = stabilityText(st);
  assert.match(text, /^Not stable/);
  assert.ok(text.includes('seed 0: stream 1') && text.includes('seed 1: stream 0'));
});
