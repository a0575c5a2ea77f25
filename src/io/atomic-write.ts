// Atomic file writes: data goes to a temp file beside the target, is fsynced, then
// renamed over it, so a reader sees the old file or the new one, never half of either.

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, shown } from '../errors.ts';

export interface WriteOptions {
  force?: boolean | undefined;
}

/**
 * Fails early, before a command does long work, when `target` cannot be written:
 * it exists and `force` is off, or it is a directory.
 */
export function assertWritable(target: string, force: boolean): void {
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(target, { throwIfNoEntry: false });
  } catch (err) {
    throw fsError(target, 'cannot check', err);
  }
  if (stat === undefined) return;
  if (stat.isDirectory()) {
    throw new ConfigError(`${target}: is a directory, expected a file path (${shown(target)})`);
  }
  if (!force) {
    throw new ConfigError(`${target}: already exists; pass --force to overwrite it`);
  }
}

/** Writes `data` to `target` atomically, creating parent directories as needed. */
export function writeFileAtomic(
  target: string,
  data: Uint8Array | string,
  opts: WriteOptions = {},
): void {
  const force = opts.force === true;
  assertWritable(target, force);
  const dir = path.dirname(target);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw fsError(target, 'cannot create its directory', err);
  }
  // Same directory as the target: rename is only atomic within one filesystem.
  const tmp = `${target}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    const fd = fs.openSync(tmp, 'wx');
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (force) fs.renameSync(tmp, target);
    else publishNoClobber(tmp, target);
    syncDir(dir);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw fsError(target, 'cannot write', err);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * A hard link fails if the target appeared since assertWritable, which rename would
 * silently replace; filesystems without hard links fall back to a checked rename.
 */
function publishNoClobber(tmp: string, target: string): void {
  try {
    fs.linkSync(tmp, target);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      throw new ConfigError(`${target}: already exists; pass --force to overwrite it`);
    }
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') {
      throw err;
    }
  }
  assertWritable(target, false);
  fs.renameSync(tmp, target);
}

/** The rename itself is durable only once the directory entry is flushed; some platforms cannot. */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Best effort: Windows cannot open directories, and the data file is already synced.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function fsError(target: string, what: string, err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === 'string') {
    return new ConfigError(`${target}: ${what} (${e.code}: ${e.message})`);
  }
  return err instanceof Error ? err : new Error(String(err));
}
