// Tests for writeFileAtomic and assertWritable: refusal without --force, replacement
// with it, parent creation, and no temp files left behind on success or failure.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import { assertWritable, writeFileAtomic } from '../../src/io/atomic-write.ts';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'hcprobe-atomic-'));
}

function configError(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  };
}

test('writes a new file, creating parent directories, and leaves no temp file', () => {
  const dir = tempDir();
  const target = path.join(dir, 'a', 'b', 'out.bin');
  writeFileAtomic(target, new Uint8Array([1, 2, 3, 250]));
  assert.deepEqual([...fs.readFileSync(target)], [1, 2, 3, 250]);
  assert.deepEqual(fs.readdirSync(path.dirname(target)), ['out.bin']);
});

test('writes strings as UTF-8', () => {
  const dir = tempDir();
  const target = path.join(dir, 'out.txt');
  writeFileAtomic(target, 'héllo\n');
  assert.equal(fs.readFileSync(target, 'utf8'), 'héllo\n');
});

test('refuses to overwrite without force and leaves the existing file untouched', () => {
  const dir = tempDir();
  const target = path.join(dir, 'out.txt');
  fs.writeFileSync(target, 'original');
  const re = new RegExp(`${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*--force`);
  assert.throws(() => writeFileAtomic(target, 'new'), configError(re));
  assert.throws(() => writeFileAtomic(target, 'new', { force: false }), configError(re));
  assert.equal(fs.readFileSync(target, 'utf8'), 'original');
  assert.deepEqual(fs.readdirSync(dir), ['out.txt']);
});

test('replaces an existing file with force', () => {
  const dir = tempDir();
  const target = path.join(dir, 'out.txt');
  fs.writeFileSync(target, 'original, longer than the replacement');
  writeFileAtomic(target, 'new', { force: true });
  assert.equal(fs.readFileSync(target, 'utf8'), 'new');
  assert.deepEqual(fs.readdirSync(dir), ['out.txt']);
});

test('assertWritable checks existence only', () => {
  const dir = tempDir();
  const target = path.join(dir, 'out.txt');
  assertWritable(target, false);
  assertWritable(path.join(dir, 'missing', 'deeper.txt'), false);
  assert.deepEqual(fs.readdirSync(dir), []);
  fs.writeFileSync(target, 'x');
  assert.throws(() => assertWritable(target, false), configError(/out\.txt.*already exists.*--force/));
  assertWritable(target, true);
  assert.equal(fs.readFileSync(target, 'utf8'), 'x');
});

test('a directory at the target path is refused even with force', () => {
  const dir = tempDir();
  const target = path.join(dir, 'sub');
  fs.mkdirSync(target);
  assert.throws(() => writeFileAtomic(target, 'x', { force: true }), configError(/sub.*is a directory/));
  assert.deepEqual(fs.readdirSync(dir), ['sub']);
  assert.deepEqual(fs.readdirSync(target), []);
});

test('a parent that is a file gives a ConfigError naming the path, with nothing left behind', () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'file'), 'x');
  const target = path.join(dir, 'file', 'out.txt');
  assert.throws(() => writeFileAtomic(target, 'y'), configError(/file[/\\]out\.txt/));
  assert.deepEqual(fs.readdirSync(dir), ['file']);
  assert.equal(fs.readFileSync(path.join(dir, 'file'), 'utf8'), 'x');
});
