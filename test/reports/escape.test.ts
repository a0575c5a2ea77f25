// The one escape function: markup characters become entities, characters XML cannot hold
// become U+FFFD, and everything else passes through unchanged.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeXml } from '../../reports/escape.ts';
import { XSS_IMG, XSS_SCRIPT } from './fixtures.ts';
import { checkXml, unescapeXml } from './xml-check.ts';

test('markup characters become entities', () => {
  assert.equal(escapeXml(XSS_SCRIPT), '&lt;script&gt;alert(1)&lt;/script&gt;');
  assert.equal(escapeXml(XSS_IMG), '&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
  assert.equal(escapeXml(`a & b 'c'`), 'a &amp; b &#39;c&#39;');
  assert.equal(escapeXml('&amp;'), '&amp;amp;', 'an entity in the input is text, escaped again');
});

test('escaped text round-trips and is well-formed inside an element and an attribute', () => {
  for (const s of [XSS_SCRIPT, XSS_IMG, 'plain', 'ünïcödé → ‖A‖ 🙂', '<<&&>>""\'\'']) {
    const e = escapeXml(s);
    assert.equal(unescapeXml(e), s);
    assert.doesNotThrow(() => checkXml(`<a title="${e}">${e}</a>`));
  }
});

test('characters that XML cannot hold become U+FFFD; tab, newline and CR stay', () => {
  assert.equal(escapeXml('a\u0000b\u0007c\u001Fd'), 'a\uFFFDb\uFFFDc\uFFFDd');
  assert.equal(escapeXml('\t\n\r'), '\t\n\r');
  assert.equal(escapeXml('x\uD800y'), 'x\uFFFDy', 'a lone high surrogate');
  assert.equal(escapeXml('x\uDC00y'), 'x\uFFFDy', 'a lone low surrogate');
  assert.equal(escapeXml('\uD83D\uDE42'), '\uD83D\uDE42', 'a surrogate pair is kept');
  assert.equal(escapeXml('\uFFFE'), '\uFFFD');
});

test('non-strings are shown as text', () => {
  assert.equal(escapeXml(3.5), '3.5');
  assert.equal(escapeXml(undefined), 'undefined');
});
