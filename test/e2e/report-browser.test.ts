// A generated report in headless Chromium (Debian's /usr/bin/chromium through playwright-core):
// no console errors, no network requests, every figure drawn with a non-zero size, and a corpus
// holding <script> and onerror= markup shown as text with nothing run. Screenshot kept in
// test/e2e/artifacts/. Skips only when /usr/bin/chromium is absent (.ci/run installs it).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { fakeProbes, fakeRun, writeResultsDir, writeRunDir, XSS_IMG, XSS_SCRIPT } from '../reports/fixtures.ts';
import { cli, ROOT, tempDir } from '../train/helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = path.join(ROOT, 'test', 'e2e', 'artifacts');
const skip = fs.existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent: install Debian's chromium (apt-get install -y chromium) to run the browser test`;

interface PageFindings {
  consoleErrors: string[];
  requests: string[];
  dialogs: string[];
  figures: { id: string; width: number; height: number }[];
  scripts: number;
  images: number;
  text: string;
}

async function openInChromium(file: string, screenshot: string): Promise<PageFindings> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'hcprobe-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1400, height: 1000 } });
  const f: PageFindings = { consoleErrors: [], requests: [], dialogs: [], figures: [], scripts: 0, images: 0, text: '' };
  try {
    // Everything that is not the file itself or inline data is refused and recorded.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
      f.requests.push(url);
      return route.abort();
    });
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') f.consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => f.consoleErrors.push(String(e)));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) f.requests.push(r.url());
    });
    page.on('dialog', (d) => {
      f.dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    await page.waitForTimeout(300);
    f.figures = await page.$$eval('svg.figure', (els) => els.map((e) => {
      const r = e.getBoundingClientRect();
      return { id: e.id, width: r.width, height: r.height };
    }));
    f.scripts = await page.$$eval('script', (els) => els.length);
    f.images = await page.$$eval('img', (els) => els.length);
    // biome-ignore lint/performance/useDomNodeTextContent: the rendered text a reader sees, not the source
    f.text = await page.evaluate(() => document.body.innerText);
    fs.mkdirSync(path.dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  return f;
}

test('report in Chromium: no errors, no network, every figure drawn, hostile corpus text inert', { skip, timeout: 180_000 }, async (t) => {
  const root = tempDir(t, 'hcprobe-e2e-');
  // The run's folder name, a label and the contexts of SAE features all carry markup.
  const name = `run${XSS_IMG.replace(/\//g, '')}`;
  const run = writeRunDir(root, fakeRun({ name }));
  writeResultsDir(root, name, { probes: fakeProbes(['topic', XSS_SCRIPT]), tokens: [XSS_SCRIPT, ' and', XSS_IMG, ' the', ' cat'] });
  const out = path.join(root, 'report.html');
  const r = cli(['report', '--run', run, '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  const svgFiles = fs.readdirSync(path.join(root, 'report_files')).filter((x) => x.endsWith('.svg'));

  const f = await openInChromium(out, path.join(ARTIFACTS, 'report.png'));
  assert.deepEqual(f.consoleErrors, [], 'no console errors');
  assert.deepEqual(f.requests, [], 'no network requests');
  assert.deepEqual(f.dialogs, [], 'no alert ran');
  assert.equal(f.scripts, 0, 'no <script> element in the page');
  assert.equal(f.images, 0, 'no <img> element in the page');
  assert.equal(f.figures.length, svgFiles.length, 'every SVG file is in the page');
  assert.ok(f.figures.length >= 25, `${f.figures.length} figures`);
  for (const fig of f.figures) assert.ok(fig.width > 0 && fig.height > 0, `${fig.id} is drawn (${fig.width}×${fig.height})`);
  assert.ok(f.text.includes(XSS_SCRIPT), 'the <script> token is shown as text');
  assert.ok(f.text.includes(XSS_IMG), 'the onerror token is shown as text');
});

test('comparison page in Chromium: no errors, no network, every figure drawn', { skip, timeout: 180_000 }, async (t) => {
  const root = tempDir(t, 'hcprobe-e2e-');
  const a = writeRunDir(root, fakeRun({ name: 'a' }));
  const b = writeRunDir(root, fakeRun({ name: 'b', nStreams: 2 }));
  const c = writeRunDir(root, fakeRun({ name: 'c', connection: 'residual' }));
  const out = path.join(root, 'compare.html');
  const r = cli(['compare', a, b, c, '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  const f = await openInChromium(out, path.join(ARTIFACTS, 'compare.png'));
  assert.deepEqual(f.consoleErrors, []);
  assert.deepEqual(f.requests, []);
  assert.ok(f.figures.length >= 15);
  for (const fig of f.figures) assert.ok(fig.width > 0 && fig.height > 0, `${fig.id} is drawn`);
  assert.match(f.text, /final val loss/);
});
