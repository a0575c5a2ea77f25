// Damaged inputs are named, not crashed on: a shard cut short, changed in place, deleted or
// never written, a manifest or run config cut short, and a metrics log damaged before its last
// line exit 2 naming the file, writing nothing; a last metrics line cut short by a kill is
// skipped with a note. One small run and capture; each case damages a copy of them.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { ShardRecord } from '../../src/capture/schema.ts';
import { xxh64Hex } from '../../src/io/xxh64.ts';
import { cli, cliOk, tempDir, trainSmall } from './helpers.ts';

const SHARD = path.join('site=resid_post', 'layer=1', 'module=mlp', 'part-00000.arrow');
const DAMAGED = 'the capture is damaged; capture again with --force';

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** Keeps the first half of a file's bytes, as an interrupted copy or a full disk leaves it. */
function cutShort(file: string): void {
  fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
}

/** Every file under `dir` with its sha256, to show that a failed command changed nothing. */
function contents(dir: string): Map<string, string> {
  const files = fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  return new Map(files.map((e) => path.join(e.parentPath, e.name)).sort().map((f) => [f, sha256(f)]));
}

interface Case {
  name: string;
  /** The run or the capture (a copy of it is damaged). */
  of: 'run' | 'acts';
  damage: (copy: string) => void;
  command: (copy: string, out: string) => string[];
  /** The damaged file, relative to the copy: stderr must name it. */
  file: string;
  message: RegExp;
}

const editManifest = (copy: string, edit: (shards: ShardRecord[]) => void) => {
  const file = path.join(copy, 'manifest.json');
  const m = JSON.parse(fs.readFileSync(file, 'utf8')) as { shards: ShardRecord[] };
  edit(m.shards);
  fs.writeFileSync(file, JSON.stringify(m));
};

const CASES: Case[] = [
  {
    name: 'shard cut short: probe',
    of: 'acts',
    damage: (c) => cutShort(path.join(c, SHARD)),
    command: (c, out) => ['probe', '--acts', c, '--out', out, '--backend', 'wasm'],
    file: SHARD,
    message: /part-00000\.arrow is \d+ bytes, the manifest says \d+: the capture is damaged; capture again with --force/,
  },
  {
    name: 'bytes changed in place, same size: diagnose',
    of: 'acts',
    damage: (c) => {
      const file = path.join(c, SHARD);
      const bytes = fs.readFileSync(file);
      const at = bytes.length >> 1;
      bytes[at] = (bytes[at] as number) ^ 0x40;
      fs.writeFileSync(file, bytes);
    },
    command: (c, out) => ['diagnose', '--acts', c, '--out', out, '--backend', 'wasm'],
    file: SHARD,
    message: /has xxh64 [0-9a-f]{12}…, the manifest says [0-9a-f]{12}…: its bytes changed since capture/,
  },
  {
    name: 'shard deleted: sae',
    of: 'acts',
    damage: (c) => fs.rmSync(path.join(c, SHARD)),
    command: (c, out) => ['sae', '--acts', c, '--out', out, '--tokens', '512', '--batch', '64', '--eval-tokens', '64', '--backend', 'wasm'],
    file: SHARD,
    message: /, named in the manifest, does not exist/,
  },
  {
    name: 'manifest names a shard that was never written: inspect',
    of: 'acts',
    damage: (c) =>
      editManifest(c, (shards) => {
        const last = shards.find((s) => s.path === SHARD) as ShardRecord;
        shards.push({ ...last, part: 1, path: last.path.replace('part-00000', 'part-00001') });
      }),
    command: (c) => ['inspect', c],
    file: SHARD.replace('part-00000', 'part-00001'),
    message: /, named in the manifest, does not exist/,
  },
  {
    name: 'manifest.json cut short: inspect',
    of: 'acts',
    damage: (c) => cutShort(path.join(c, 'manifest.json')),
    command: (c) => ['inspect', c],
    file: 'manifest.json',
    message: new RegExp(`: not valid JSON \\(.*\\); ${DAMAGED}`),
  },
  {
    name: 'run config.json cut short: capture --run',
    of: 'run',
    damage: (c) => cutShort(path.join(c, 'config.json')),
    command: (c, out) => ['capture', '--run', c, '--out', out, '--tokens', '64', '--backend', 'wasm'],
    file: 'config.json',
    message: /: not valid JSON \(.*\); the file is damaged/,
  },
  {
    name: 'metrics.jsonl damaged before its last line: report',
    of: 'run',
    damage: (c) => {
      const file = path.join(c, 'metrics.jsonl');
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      lines[0] = (lines[0] as string).slice(0, 40);
      fs.writeFileSync(file, lines.join('\n'));
    },
    command: (c, out) => ['report', '--run', c, '--out', out],
    file: 'metrics.jsonl',
    message: /metrics\.jsonl: line 1 is not a JSON object \(.*\): the metrics log is damaged/,
  },
];

test('damaged inputs: exit 2 naming the file, nothing written', async (t) => {
  const dir = tempDir(t, 'hcprobe-damage-');
  const run = await trainSmall(path.join(dir, 'run'));
  const acts = path.join(dir, 'acts');
  cliOk(['capture', '--run', run, '--out', acts, '--tokens', '256', '--backend', 'wasm']);
  let copies = 0;
  const copyOf = (from: string) => {
    const to = path.join(dir, `copy-${copies++}`);
    fs.cpSync(from, to, { recursive: true });
    return to;
  };

  await t.test('the manifest records every shard with its size and XXH64', () => {
    const m = JSON.parse(fs.readFileSync(path.join(acts, 'manifest.json'), 'utf8')) as { shards: ShardRecord[] };
    assert.ok(m.shards.some((s) => s.path === SHARD));
    for (const s of m.shards) {
      assert.equal(s.bytes, fs.statSync(path.join(acts, s.path)).size, s.path);
      assert.equal(s.xxh64, xxh64Hex(fs.readFileSync(path.join(acts, s.path))), s.path);
      assert.equal(s.sha256, undefined, s.path);
    }
  });

  for (const c of CASES) {
    await t.test(c.name, () => {
      const copy = copyOf(c.of === 'run' ? run : acts);
      c.damage(copy);
      const before = contents(copy);
      const out = path.join(dir, `out-${copies}`);
      const r = cli(c.command(copy, out));
      assert.equal(r.status, 2, `exit code; stderr: ${r.stderr}`);
      assert.ok(r.stderr.includes(path.join(copy, c.file)), `stderr names ${c.file}: ${r.stderr}`);
      assert.match(r.stderr, c.message);
      assert.equal(r.stdout, '');
      assert.ok(!fs.existsSync(out), 'no output was written');
      assert.deepEqual(contents(copy), before, 'the damaged input is left as it was');
    });
  }

  await t.test('a capture from before XXH64 (sha256 recorded): verified by its sha256', () => {
    const copy = copyOf(acts);
    editManifest(copy, (shards) => {
      for (const s of shards) {
        delete s.xxh64;
        s.sha256 = sha256(path.join(copy, s.path));
      }
    });
    const probe = (out: string) => cli(['probe', '--acts', copy, '--out', out, '--layers', '1', '--modules', 'mlp', '--labels', 'pos', '--backend', 'wasm']);
    const control = probe(path.join(dir, 'sha256-control.json'));
    assert.equal(control.status, 0, `the recorded sha256 holds: the control; stderr: ${control.stderr}`);
    const file = path.join(copy, SHARD);
    const bytes = fs.readFileSync(file);
    const at = bytes.length >> 1;
    bytes[at] = (bytes[at] as number) ^ 0x01;
    fs.writeFileSync(file, bytes);
    const out = path.join(dir, 'sha256-probes.json');
    const r = probe(out);
    assert.equal(r.status, 2, r.stderr);
    assert.ok(r.stderr.includes(file), r.stderr);
    assert.match(r.stderr, /has sha256 [0-9a-f]{12}…, the manifest says [0-9a-f]{12}…: its bytes changed since capture/);
    assert.ok(!fs.existsSync(out));
  });

  await t.test('a capture from before checksums (neither): sizes checked, an unreadable shard named', () => {
    const copy = copyOf(acts);
    editManifest(copy, (shards) => {
      for (const s of shards) {
        delete s.xxh64;
        delete s.sha256;
      }
    });
    assert.equal(cli(['inspect', copy]).status, 0, 'no checksums to verify: the control');
    const file = path.join(copy, SHARD);
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.fill(0xff, 0, 6)); // the file's leading magic, ARROW1
    const out = path.join(dir, 'old-probes.json');
    const r = cli(['probe', '--acts', copy, '--out', out, '--layers', '1', '--modules', 'mlp', '--labels', 'pos', '--backend', 'wasm']);
    assert.equal(r.status, 2, r.stderr);
    assert.ok(r.stderr.includes(`${file} is not a readable Arrow file`), r.stderr);
    assert.ok(!fs.existsSync(out));
    cutShort(file);
    const cut = cli(['inspect', copy]);
    assert.equal(cut.status, 2, cut.stderr);
    assert.ok(cut.stderr.includes(`${file} is `), cut.stderr);
  });

  await t.test('metrics.jsonl with its last line cut short by a kill: the report renders, with a note', () => {
    const copy = copyOf(run);
    const file = path.join(copy, 'metrics.jsonl');
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    fs.writeFileSync(file, `${lines.slice(0, -1).join('\n')}\n${(lines.at(-1) as string).slice(0, 30)}`);
    const out = path.join(dir, 'report.html');
    const r = cli(['report', '--run', copy, '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stderr.includes(`${file}: line ${lines.length} is cut short`), `the note names the file and line: ${r.stderr}`);
    assert.ok(fs.existsSync(out));
  });
});
