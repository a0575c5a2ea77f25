// Shards written on the writer thread = shards written inline (issue 17, item 2): the same files to
// the byte, the same manifest and the same progress calls, the thread started from its bundle or
// through tsx; a capture stopped on one path resumes on the other to the same bytes; an error met
// while writing reaches the caller as the same error (a ConfigError stays one), leaving the same
// files and no temporaries. No timing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import * as A from 'apache-arrow';
import { type CaptureOptions, capture } from '../../src/capture/capture.ts';
import { readManifest } from '../../src/capture/read.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { ConfigError } from '../../src/errors.ts';
import { prestartWriterThread, writerThreadsStarted } from '../../src/capture/writer-thread.ts';
import { listFiles, ROOT, runCaptureOptions, sha256, tempDir, trainSmall } from './helpers.ts';

/** 250 sequences of 32 in batches of 8: 32 batches, the last one short. */
const TOKENS = 8000;
const BATCH = 8;
/** Small shards, so that every stream closes several on either thread. */
const SHARD_BYTES = 256 * 1024;


/** tokens.arrow's rows: Arrow JS numbers dictionaries per process, so its bytes differ within one. */
const tokenTable = (acts: string) => {
  const t = A.tableFromIPC(fs.readFileSync(path.join(acts, 'tokens.arrow')));
  return { id: [...(t.getChild('id')?.toArray() ?? [])], text: [...(t.getChild('text') ?? [])] };
};

/** Every file of `b` is `a`'s, to the byte. */
function assertSameCapture(a: string, b: string): void {
  const files = [...listFiles(a).keys()];
  assert.deepEqual([...listFiles(b).keys()], files, 'the same files');
  for (const f of files) {
    if (f === 'tokens.arrow') assert.deepEqual(tokenTable(b), tokenTable(a), f);
    else assert.equal(sha256(path.join(b, f)), sha256(path.join(a, f)), `${f} differs`);
  }
}

class Stop extends Error {}

test('capture: the writer thread writes the bytes of the inline writer', async (t) => {
  const dir = tempDir(t);
  const run = await trainSmall(path.join(dir, 'run'));
  await initBackend('wasm');
  const base = runCaptureOptions(t, run);
  const options = (out: string, writerThread: boolean, more: Partial<CaptureOptions> = {}): CaptureOptions => ({
    ...base,
    split: 'val', tokens: TOKENS, sites: ['resid_post', 'branch_out', 'coeffs'], layers: [0, 1], dtype: 'float32',
    batch: BATCH, shardBytes: SHARD_BYTES, out, resume: false, command: ['capture', '--run', run], writerThread, ...more,
  });

  for (const dtype of ['float32', 'float16'] as const) {
    await t.test(`${dtype}: the same shards, manifest and progress on either path`, async () => {
      const progress = { thread: [] as number[], inline: [] as number[] };
      const thread = path.join(dir, `thread-${dtype}`);
      const inline = path.join(dir, `inline-${dtype}`);
      const m = await capture(options(thread, true, { dtype }), (done, total) => progress.thread.push(done, total));
      await capture(options(inline, false, { dtype }), (done, total) => progress.inline.push(done, total));
      assertSameCapture(inline, thread);
      assert.deepEqual(readManifest(thread), readManifest(inline));
      const keys = 3 * 2 * 2;
      assert.ok(m.shards.length >= 2 * keys, `several shards per stream (${m.shards.length} for ${keys} streams)`);
      const sequences = TOKENS / 32;
      const expected = Array.from({ length: Math.ceil(sequences / BATCH) }, (_, i) => [Math.min((i + 1) * BATCH, sequences), sequences]).flat();
      assert.deepEqual(progress.thread, expected, 'one call per batch written, in order');
      assert.deepEqual(progress.inline, expected);
    });
  }

  await t.test('progress comes as batches are written: a stop after 16 of 625 sequences leaves the rest undone', async () => {
    // Whole capture far under the run-ahead bound: the forward never waits for the thread, so only
    // a turn of the event loop per batch lets its messages (and the stop) through before the end.
    const out = path.join(dir, 'stopped-early');
    const stopAt = (done: number) => {
      if (done >= 16) throw new Stop(`stopped at ${done}`);
    };
    // 625 sequences, 79 batches, ~13 MB: the thread keeps up with the forward.
    await assert.rejects(capture(options(out, true, { tokens: 20000, sites: ['resid_post', 'coeffs'] }), stopAt), Stop);
    const stateFile = path.join(out, '.capture-state.json'); // written when the first shard closes
    const shards = fs.existsSync(stateFile) ? (JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { shards: { endSeq: number }[] }).shards : [];
    const last = Math.max(0, ...shards.map((s) => s.endSeq));
    assert.ok(last <= 16 + 4 * BATCH, `shards recorded up to sequence ${last}, well past the stop at 16`);
  });

  await t.test('the thread started through tsx (no bundle) writes the same bytes as from its bundle', async () => {
    const tsx = path.join(dir, 'thread-tsx');
    process.env.HCPROBE_WRITER_BUNDLE = '0';
    try {
      await capture(options(tsx, true));
    } finally {
      delete process.env.HCPROBE_WRITER_BUNDLE;
    }
    assertSameCapture(path.join(dir, 'thread-float32'), tsx);
  });

  await t.test('a thread prestarted before the capture is the one it takes, and writes the same bytes', async () => {
    const first = prestartWriterThread();
    assert.equal(prestartWriterThread(), first, 'one spare thread at a time');
    await first;
    const started = writerThreadsStarted();
    const out = path.join(dir, 'thread-prestarted');
    await capture(options(out, true));
    assertSameCapture(path.join(dir, 'thread-float32'), out);
    assert.equal(writerThreadsStarted(), started, 'the capture took the loaded spare, starting no thread');
    // Taken while it still loads: the capture takes it all the same, and its promise settles.
    const second = prestartWriterThread();
    const loading = path.join(dir, 'thread-prestarted-loading');
    await capture(options(loading, true));
    assertSameCapture(path.join(dir, 'thread-float32'), loading);
    assert.equal(writerThreadsStarted(), started + 1, 'one thread started, by the prestart');
    const settled = await Promise.race([second.then(() => 'settled'), delay(30_000, 'pending', { ref: false })]);
    assert.equal(settled, 'settled', "a spare's promise settles when a capture takes it");
    // Without a spare, the capture starts its own.
    await capture(options(path.join(dir, 'thread-own'), true));
    assert.equal(writerThreadsStarted(), started + 2);
  });

  await t.test('stopped on one path and resumed on the other: the bytes of an uninterrupted capture', async () => {
    const whole = path.join(dir, 'inline-float32');
    const acts = path.join(dir, 'mixed');
    for (const [i, [stop, writerThread]] of ([[80, true], [160, false]] as const).entries()) {
      const stopAt = (done: number) => {
        if (done >= stop) throw new Stop(`stopped at ${done}`);
      };
      await assert.rejects(capture(options(acts, writerThread, { resume: i > 0 }), stopAt), Stop);
      assert.ok(!fs.existsSync(path.join(acts, 'manifest.json')), 'stopped before the manifest');
      assert.ok(![...listFiles(acts).keys()].some((f) => f.includes('.tmp-')), 'no temporaries left');
    }
    await capture(options(acts, true, { resume: true }));
    assertSameCapture(whole, acts);
  });

  await t.test('a shard that cannot take its name at the end: the others recorded, no temporaries, on either path', async () => {
    for (const writerThread of [true, false]) {
      const out = path.join(dir, `finish-fails-${writerThread}`);
      // One shard per stream (the limit far above the capture), all closed together at the end;
      // one's final name is taken by a non-empty folder, so that its rename fails while the
      // other closes are still syncing.
      fs.mkdirSync(path.join(out, 'site=resid_post', 'layer=0', 'module=attn', 'part-00000.arrow', 'x'), { recursive: true });
      const e = await capture(options(out, writerThread, { shardBytes: 1 << 30 })).then(() => undefined, (e: unknown) => e);
      assert.ok(e instanceof Error, `writerThread ${writerThread}: rejected`);
      assert.match(String((e as NodeJS.ErrnoException).code), /^(EISDIR|ENOTEMPTY|EEXIST)$/, `the rename's error: ${e}`);
      const files = [...listFiles(out).keys()];
      assert.ok(!files.some((f) => f.includes('.tmp-')), `no temporaries: ${files}`);
      assert.ok(!files.includes('manifest.json'));
      const state = JSON.parse(fs.readFileSync(path.join(out, '.capture-state.json'), 'utf8')) as { shards: { path: string }[] };
      const recorded = state.shards.map((s) => s.path).sort();
      assert.deepEqual(recorded, files.filter((f) => /part-\d{5}\.arrow$/.test(f)).sort(), 'every shard file on disk is recorded');
      assert.equal(recorded.length, 3 * 2 * 2 - 1, 'all but the blocked one');
    }
  });

  const failures: { name: string; block: (out: string) => void; configError: boolean; message: RegExp }[] = [
    {
      name: 'state file path is a folder (ConfigError)',
      block: (out) => fs.mkdirSync(path.join(out, '.capture-state.json'), { recursive: true }),
      configError: true,
      message: /\.capture-state\.json: is a directory/,
    },
    {
      name: 'shard folder is a file (fs error, code kept)',
      block: (out) => {
        fs.mkdirSync(out, { recursive: true });
        fs.writeFileSync(path.join(out, 'site=branch_out'), 'x');
      },
      configError: false,
      message: /ENOTDIR/,
    },
  ];
  for (const f of failures) {
    await t.test(`${f.name}: the same error and files on either path`, async () => {
      const errors: Error[] = [];
      const outs = [true, false].map((writerThread) => {
        const out = path.join(dir, `fail-${f.configError}-${writerThread}`);
        f.block(out);
        return { out, writerThread };
      });
      for (const { out, writerThread } of outs) {
        const e = await capture(options(out, writerThread)).then(() => undefined, (e: unknown) => e);
        assert.ok(e instanceof Error, `writerThread ${writerThread}: rejected`);
        errors.push(e);
      }
      const [thread, inline] = errors as [Error, Error];
      const message = (e: Error, i: number) => e.message.replaceAll(outs[i]?.out ?? '', '<out>');
      assert.match(inline.message, f.message);
      assert.equal(inline instanceof ConfigError, f.configError);
      assert.equal(thread instanceof ConfigError, f.configError, 'the same class');
      assert.equal(thread.name, inline.name);
      assert.equal(message(thread, 0), message(inline, 1));
      assert.equal((thread as NodeJS.ErrnoException).code, (inline as NodeJS.ErrnoException).code);
      const [a, b] = outs.map(({ out }) => [...listFiles(out).keys()]);
      assert.deepEqual(a, b, 'the same files left');
      assert.ok(!(a ?? []).some((x) => x.includes('.tmp-') || x === 'manifest.json'), `no temporaries, no manifest: ${a}`);
    });
  }
});

test('capture: the writer thread starts without the parent\'s loaders and preloads, and keeps its other flags', async () => {
  const { withoutLoaders } = await import('../../src/capture/writer-thread.ts');
  assert.deepEqual(withoutLoaders(['--import', 'tsx', '--enable-source-maps']), ['--enable-source-maps']);
  assert.deepEqual(withoutLoaders(['--import=tsx', '--loader', 'x.mjs', '--experimental-loader=y.mjs', '-r', 'z.cjs', '--require=w.cjs']), []);
  assert.deepEqual(withoutLoaders(['--max-old-space-size=4096', '--stack-size=2000', '--import', './a.mjs', '--no-warnings']), ['--max-old-space-size=4096', '--stack-size=2000', '--no-warnings']);
  assert.deepEqual(withoutLoaders([]), []);
  // a flag that only starts like a loader's stays
  assert.deepEqual(withoutLoaders(['--loaderx', '--imports=1']), ['--loaderx', '--imports=1']);
});

test('capture: under node --import tsx the thread runs without tsx, and still starts beside a flag Node will not pass to a worker', (t) => {
  // The child starts a thread as WriterThread does; the thread answers with its own flags.
  const dir = tempDir(t, 'hcprobe-thread-flags-');
  const entry = path.join(dir, 'entry.mjs');
  fs.writeFileSync(entry, "import { parentPort } from 'node:worker_threads'; parentPort.postMessage(process.execArgv);\n");
  const child = path.join(dir, 'child.mts');
  const module = new URL('../../src/capture/writer-thread.ts', import.meta.url).href;
  fs.writeFileSync(child, `import { pathToFileURL } from 'node:url';
import { startThread } from ${JSON.stringify(module)};
const w = startThread(pathToFileURL(${JSON.stringify(entry)}));
w.once('message', (flags) => { process.stdout.write(JSON.stringify(flags)); void w.terminate(); });
`);
  const run = (flags: string[]) => {
    const r = spawnSync(process.execPath, [...flags, '--import', 'tsx', child], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as string[];
  };
  assert.deepEqual(run(['--no-warnings']), ['--no-warnings']);
  // --stack-size may be inherited but not given: the thread inherits all, tsx included
  assert.deepEqual(run(['--stack-size=2000']), ['--stack-size=2000', '--import', 'tsx']);
});

test('capture: a prestarted writer thread that no capture takes does not keep the process alive', (t) => {
  const dir = tempDir(t, 'hcprobe-thread-spare-');
  const child = path.join(dir, 'child.mts');
  const module = new URL('../../src/capture/writer-thread.ts', import.meta.url).href;
  fs.writeFileSync(child, `import { prestartWriterThread } from ${JSON.stringify(module)};
await prestartWriterThread();
process.stdout.write('loaded');
`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', child], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.signal, null, 'ended by itself, not by the timeout');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'loaded');
});
