// A closed stdout (`hcprobe … | head`) ends the program as SIGPIPE ends a Unix tool: exit 141,
// nothing on stderr; before, Node's unhandled EPIPE printed a stack trace.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'hcprobe.mjs');

/** Runs `hcprobe ARGS` with its stdout's reading end closed before the program writes. */
function withClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // closed at once: the program takes ~1 s to start
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

test('output into a closed pipe: exit 141, no stack trace', async () => {
  const r = await withClosedStdout(['--help']);
  assert.equal(r.stderr, '', 'nothing on stderr');
  assert.equal(r.code, 141);
});
