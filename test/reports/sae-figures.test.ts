// SAE results in the report: attribution histogram, concentration, per-stream quality,
// planted-label matches and feature cards whose corpus tokens stay text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contextHtml, featureCardsHtml } from '../../reports/feature-cards.ts';
import { saeSection } from '../../reports/sae-figures.ts';
import { fakeDashboards, fakeSaeSummary, XSS_IMG, XSS_SCRIPT } from './fixtures.ts';
import { checkXml, texts } from './xml-check.ts';

test('SAE section: the figures of every mode, well-formed', () => {
  const s = saeSection([fakeSaeSummary('concat'), fakeSaeSummary('per-stream'), fakeSaeSummary('summed')], [fakeDashboards('concat')]);
  assert.deepEqual(s.figures.map((f) => f.id), ['sae-attribution-concat-layer-1', 'sae-concentration-concat', 'sae-planted-concat', 'sae-per-stream-fvu', 'sae-per-stream-ce-recovered', 'sae-planted-per-stream', 'sae-planted-summed']);
  for (const f of s.figures) checkXml(f.svg);
  const conc = texts(s.figures[1]?.svg ?? '');
  assert.ok(conc.includes('L0 · stream 1: 60.0%'), '120 of 200 live features concentrated in stream 1');
  assert.ok(conc.includes('L0 · spread (no stream > 0.5): 25.0%'));
  const hist = texts(s.figures[0]?.svg ?? '');
  assert.ok(hist.includes('concentrated') && hist.includes('features'));
  const planted = texts(s.figures[2]?.svg ?? '');
  assert.ok(planted.includes('topic=sea') && planted.includes('s1'));
  assert.match(s.html ?? '', /class="cards"/);
});

test('feature cards: tokens escaped, the activating token marked', () => {
  assert.equal(contextHtml(['a', XSS_SCRIPT, XSS_IMG], 1), `a<mark>&lt;script&gt;alert(1)&lt;/script&gt;</mark>&quot;&gt;&lt;img src=x onerror=alert(1)&gt;`);
  assert.equal(contextHtml(['the', 'cat', 'sat'], 1), 'the <mark>cat</mark> sat', 'word tokens get spaces');
  assert.equal(contextHtml(['the', ' cat'], 0), '<mark>the</mark> cat', 'tokens with their own spaces are joined as they are');
  const html = featureCardsHtml([fakeDashboards('concat', [XSS_SCRIPT, ' x', XSS_IMG])]);
  assert.doesNotMatch(html, /<script|<img/);
  assert.equal(html.match(/class="card"/g)?.length, 8);
  assert.equal(html.match(/<mark>/g)?.length, 8);
  checkXml(`<div>${html}</div>`);
});
