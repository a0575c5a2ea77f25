// The writer thread's bundle (writer-bundle.ts): built into the cache folder on first use and
// reused while its inputs are unchanged; rebuilt when one changed; never used stale; the tsx entry
// when bundling is switched off or the cache cannot be written. That both entries write the same
// bytes is in writer-thread.test.ts.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TSX_BOOT, writerThreadEntry } from '../../src/capture/writer-bundle.ts';
import { tempDir } from './helpers.ts';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Key {
  esbuild: string;
  inputs: Record<string, string>;
  bundle: string;
}
const keyOf = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'writer-thread.json'), 'utf8')) as Key;

test('writer bundle: built once, reused, rebuilt when an input changes', async (t) => {
  const dir = path.join(tempDir(t, 'hcprobe-bundle-'), 'cache');
  const first = writerThreadEntry(dir);
  assert.equal(first.protocol, 'file:');
  const file = fileURLToPath(first);
  assert.equal(path.dirname(file), dir, 'the bundle, in the cache folder');
  const key = keyOf(dir);
  assert.equal(path.basename(file), key.bundle);
  for (const source of ['src/capture/writer-thread-worker.ts', 'src/capture/shard-writer.ts', 'src/io/xxh64.ts']) {
    assert.ok(source in key.inputs, `${source} is an input`);
  }
  for (const build of ['src/capture/writer-bundle.ts', 'tsconfig.json']) assert.ok(build in key.inputs, `${build} is in the key`);
  assert.ok(Object.keys(key.inputs).some((p) => p.includes('node_modules/apache-arrow/')), 'Arrow is bundled');
  assert.ok(!('src/capture/writer-thread.ts' in key.inputs), 'no main-thread code in the thread');
  for (const p of Object.keys(key.inputs)) assert.ok(fs.existsSync(path.join(ROOT, p)), `${p} is a path under the package`);

  await t.test('unchanged inputs: the same file, not rebuilt', () => {
    const before = fs.statSync(path.join(dir, 'writer-thread.json')).mtimeMs;
    assert.equal(writerThreadEntry(dir).href, first.href);
    assert.equal(fs.statSync(path.join(dir, 'writer-thread.json')).mtimeMs, before);
  });

  await t.test('an input that changed since (its recorded hash differs): rebuilt, the hash recorded anew', () => {
    const stale = { ...key, inputs: { ...key.inputs, 'src/capture/shard-writer.ts': '0'.repeat(40) } };
    fs.writeFileSync(path.join(dir, 'writer-thread.json'), JSON.stringify(stale));
    assert.equal(writerThreadEntry(dir).href, first.href, 'the same sources give the same bundle');
    assert.deepEqual(keyOf(dir).inputs, key.inputs);
  });

  await t.test('a bundle file gone or another esbuild: rebuilt', () => {
    fs.rmSync(file);
    assert.equal(writerThreadEntry(dir).href, first.href);
    assert.ok(fs.existsSync(file));
    fs.writeFileSync(path.join(dir, 'writer-thread.json'), JSON.stringify({ ...key, esbuild: '0.0.0' }));
    writerThreadEntry(dir);
    assert.equal(keyOf(dir).esbuild, key.esbuild);
  });

  await t.test('a key naming a file outside the pattern (../x.mjs) is not followed: rebuilt', () => {
    fs.writeFileSync(path.join(dir, 'writer-thread.json'), JSON.stringify({ ...key, bundle: '../x.mjs' }));
    assert.equal(writerThreadEntry(dir).href, first.href);
    assert.equal(keyOf(dir).bundle, key.bundle);
  });

  await t.test('a rebuild removes bundles unused for a day, keeps recent ones', () => {
    const old = path.join(dir, `writer-thread-${'a'.repeat(16)}.mjs`);
    const recent = path.join(dir, `writer-thread-${'b'.repeat(16)}.mjs`);
    const other = path.join(dir, 'notes.txt');
    for (const f of [old, recent, other]) fs.writeFileSync(f, '');
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    fs.utimesSync(old, twoDaysAgo, twoDaysAgo);
    fs.utimesSync(other, twoDaysAgo, twoDaysAgo);
    fs.writeFileSync(path.join(dir, 'writer-thread.json'), JSON.stringify({ ...key, esbuild: '0.0.0' }));
    writerThreadEntry(dir);
    assert.ok(!fs.existsSync(old), 'the old bundle is removed');
    assert.ok(fs.existsSync(recent) && fs.existsSync(other) && fs.existsSync(file), 'the rest stays');
  });

  await t.test('the bundle loads on its own: no tsx, no bare imports left', async () => {
    const code = fs.readFileSync(file, 'utf8');
    assert.ok(!/from\s*["'](?!node:)[^"'.][^"']*["']/.test(code), 'every import is bundled or node:');
    assert.ok(!code.includes('import.meta'), 'nothing resolved against the bundle\'s own place');
  });
});

test('writer bundle: the tsx entry when switched off or when the cache cannot be written', (t) => {
  const dir = tempDir(t, 'hcprobe-bundle-');
  process.env.HCPROBE_WRITER_BUNDLE = '0';
  try {
    assert.equal(writerThreadEntry(path.join(dir, 'off')).href, TSX_BOOT.href);
  } finally {
    delete process.env.HCPROBE_WRITER_BUNDLE;
  }
  assert.ok(!fs.existsSync(path.join(dir, 'off')), 'nothing built');
  const file = path.join(dir, 'a-file');
  fs.writeFileSync(file, 'x');
  assert.equal(writerThreadEntry(path.join(file, 'cache')).href, TSX_BOOT.href, 'a cache folder under a file');
});
