// reports/ is pure: nothing it loads at run time reaches tfjs, the file system or the process
// (STYLE.md: "reports/ never imports tfjs"); type-only imports are erased and do not count.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../train/helpers.ts';

const RUNTIME_IMPORT = /^import\s+(?!type\b)[^'"]*from\s+'([^']+)'|^export\s+(?!type\b)[^'"]*from\s+'([^']+)'/gm;

function runtimeImports(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  return [...src.matchAll(RUNTIME_IMPORT)].map((m) => (m[1] ?? m[2]) as string);
}

test('no module that reports/ loads at run time imports tfjs or node built-ins', () => {
  const start = readdirSync(join(ROOT, 'reports'), { recursive: true }).map(String).filter((f) => f.endsWith('.ts')).map((f) => join(ROOT, 'reports', f));
  assert.ok(start.length > 5);
  const seen = new Set<string>();
  const queue = [...start];
  while (queue.length) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of runtimeImports(file)) {
      assert.doesNotMatch(spec, /tensorflow|^node:|^fs$|^path$|engine\/tf/, `${file} imports ${spec}`);
      if (spec.startsWith('.')) queue.push(resolve(dirname(file), spec));
      else assert.match(spec, /^d3-/, `${file} imports the package ${spec}`);
    }
  }
});
