// Bad input to `hcprobe capture` and `hcprobe inspect` (issue 4, §4): exit 2, a message that
// names the value received, and nothing written: no output folder, or an existing one untouched.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { cli, cliOk, listFiles, tempDir, trainSmall } from './helpers.ts';

test('capture and inspect reject bad input with exit 2, naming the value, writing nothing', async (t) => {
  const dir = tempDir(t);
  const run = await trainSmall(path.join(dir, 'run'));
  const noCkpt = path.join(dir, 'no-ckpt');
  fs.mkdirSync(noCkpt);
  fs.copyFileSync(path.join(run, 'config.json'), path.join(noCkpt, 'config.json'));
  const out = path.join(dir, 'acts');
  const base = (r = run) => ['capture', '--run', r, '--out', out, '--tokens', '64', '--backend', 'wasm'];

  const cases: { name: string; args: string[]; message: RegExp }[] = [
    { name: 'missing run', args: base(path.join(dir, 'nope')), message: /run ".*nope" does not exist/ },
    { name: 'run without checkpoints', args: base(noCkpt), message: /run ".*no-ckpt" has no checkpoint/ },
    { name: 'layer out of range', args: [...base(), '--layers', '0,7'], message: /--layers: layer 7 is out of range \(the model has 2 layers/ },
    { name: 'unknown site', args: [...base(), '--sites', 'resid_post,resid_middle'], message: /--sites: unknown site "resid_middle"/ },
    { name: 'dtype float64', args: [...base(), '--dtype', 'float64'], message: /--dtype must be one of float32, float16, got "float64"/ },
    { name: 'tokens 0', args: [...base(), '--tokens', '0'], message: /--tokens must be an integer ≥ 1, got "0"/ },
    { name: 'fewer tokens than one sequence', args: [...base(), '--tokens', '5'], message: /--tokens 5 is fewer than one sequence of 32 tokens/ },
    { name: 'split', args: [...base(), '--split', 'test'], message: /--split must be one of train, val, got "test"/ },
    { name: 'writer-thread', args: [...base(), '--writer-thread', 'maybe'], message: /--writer-thread must be one of true, false, got "maybe"/ },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const r = cli(c.args);
      assert.equal(r.status, 2, `exit code; stderr: ${r.stderr}`);
      assert.match(r.stderr, c.message);
      assert.equal(r.stdout, '');
      assert.ok(!fs.existsSync(out), 'no output folder was created');
    });
  }

  await t.test('existing output without --force: exit 2, files untouched', () => {
    cliOk(base());
    const before = [...listFiles(out)].map(([f, size]) => [f, size, fs.readFileSync(path.join(out, f)).toString('base64'), fs.statSync(path.join(out, f)).mtimeMs]);
    assert.ok(before.length > 3);
    const r = cli([...base(), '--sites', 'coeffs']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /output ".*acts" already exists; pass --force/);
    const after = [...listFiles(out)].map(([f, size]) => [f, size, fs.readFileSync(path.join(out, f)).toString('base64'), fs.statSync(path.join(out, f)).mtimeMs]);
    assert.deepEqual(after, before);
    // --force replaces it: the control that shows the refusal above was about the flag.
    cliOk([...base(), '--sites', 'coeffs', '--force']);
    assert.ok(![...listFiles(out).keys()].some((f) => f.startsWith('site=resid_post')), '--force cleared the old capture');
  });

  await t.test('more --tokens than the split holds: all of it captured, and a note says so', () => {
    const whole = path.join(dir, 'whole-split');
    const r = cliOk(['capture', '--run', run, '--out', whole, '--tokens', '100000000', '--sites', 'coeffs', '--backend', 'wasm']);
    const m = JSON.parse(fs.readFileSync(path.join(whole, 'manifest.json'), 'utf8')) as { tokens: number };
    assert.ok(m.tokens > 0 && m.tokens < 100000000);
    assert.match(r.stderr, new RegExp(`note: the val split holds ${m.tokens} tokens in whole sequences of 32: all of them were captured, not the 100000000 asked for`));
    assert.doesNotMatch(cliOk(['capture', '--run', run, '--out', path.join(dir, 'part'), '--tokens', '70', '--sites', 'coeffs', '--backend', 'wasm']).stderr, /note:/, '70 tokens: 64 captured, no note');
  });

  await t.test('inspect on a folder without manifest.json', () => {
    const empty = path.join(dir, 'not-a-capture');
    fs.mkdirSync(empty);
    fs.writeFileSync(path.join(empty, 'notes.txt'), 'x');
    const r = cli(['inspect', empty]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /not-a-capture has no manifest\.json/);
    assert.deepEqual([...listFiles(empty).keys()], ['notes.txt']);
    const missing = cli(['inspect', path.join(dir, 'absent')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /activations folder ".*absent" does not exist/);
    assert.ok(!fs.existsSync(path.join(dir, 'absent')));
  });

  await t.test('inspect of a good capture: exit 0, JSON summary of sites, rows and bytes', () => {
    const r = cliOk(['inspect', out, '--json']);
    const s = JSON.parse(r.stdout) as { sites: string[]; tokens: number; groups: { group: string; rows: number; bytes: number }[] };
    assert.deepEqual(s.sites, ['coeffs']);
    assert.equal(s.tokens, 64);
    assert.equal(s.groups.length, 4, 'coeffs × 2 layers × 2 modules');
    for (const g of s.groups) assert.equal(g.rows, 64, g.group);
  });
});
