// The direction of imports (README, Development): cli → api → reports, probes, sae → src, and
// nothing back up. src/ imports only src/; probes/ and sae/ import src/ (and themselves);
// reports/ takes nothing but types from outside itself; no file imports itself through a cycle.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..');
const FLOORS = ['cli', 'api', 'reports', 'probes', 'sae', 'src'] as const;
type Floor = (typeof FLOORS)[number];

interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return files(path);
    return /\.(ts|mjs)$/.test(name) ? [path] : [];
  });
}

/** Relative imports of a file (static, re-exports and dynamic), resolved to repository paths. */
export function importsOf(file: string, source: string): Edge[] {
  const out: Edge[] = [];
  const statement = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"](\.[^'"]+)['"]/gm;
  for (const m of source.matchAll(statement)) {
    const names = m[3] ?? '';
    // `import { type A, type B }` is type-only too.
    const typeOnly = m[2] !== undefined || (/^\{[^}]*\}$/.test(names.trim()) && names.replace(/[{}\s]/g, '').split(',').filter(Boolean).every((n) => n.startsWith('type')));
    out.push({ from: file, to: normalize(join(dirname(file), m[4] as string)), typeOnly });
  }
  for (const m of source.matchAll(/import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) out.push({ from: file, to: normalize(join(dirname(file), m[1] as string)), typeOnly: false });
  return out;
}

const floorOf = (path: string): Floor | undefined => FLOORS.find((f) => path === f || path.startsWith(`${f}/`));

const edges = FLOORS.flatMap((f) => files(f)).flatMap((file) => importsOf(file, readFileSync(join(ROOT, file), 'utf8')));

test('the import scanner sees this tree', () => {
  assert.ok(edges.length > 300, `only ${edges.length} imports found`);
  assert.ok(edges.some((e) => e.from.startsWith('cli/') && e.to.startsWith('probes/')));
});

test('no import runs up the floors', () => {
  const allowed: Record<Floor, readonly Floor[]> = {
    cli: FLOORS,
    api: ['api', 'reports', 'probes', 'sae', 'src'],
    reports: ['reports'],
    probes: ['probes', 'src'],
    sae: ['sae', 'src'],
    src: ['src'],
  };
  const wrong = edges.filter((e) => {
    const from = floorOf(e.from) as Floor;
    const to = floorOf(e.to);
    if (to === undefined) return !e.to.startsWith('bin/') && !e.to.startsWith('node_modules/');
    if (from === 'reports' && e.typeOnly) return false; // results schemas and model types
    return !allowed[from].includes(to);
  });
  assert.deepEqual(wrong.map((e) => `${e.from} → ${e.to}${e.typeOnly ? ' (type)' : ''}`), []);
});

test('no import cycle', () => {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (node: string, path: string[]) => {
    if (state.get(node) === 'done') return;
    if (state.get(node) === 'open') {
      cycles.push([...path.slice(path.indexOf(node)), node].map((p) => relative('.', p)).join(' → '));
      return;
    }
    state.set(node, 'open');
    for (const n of next.get(node) ?? []) visit(n, [...path, node]);
    state.set(node, 'done');
  };
  for (const node of next.keys()) visit(node, []);
  assert.deepEqual(cycles, []);
});

test('src/model/ is pure maths: no file system, no WGSL, no backend asked for by name', () => {
  // The engine's ops choose fused programs and backend workarounds (README, Development).
  const rules: [string, RegExp][] = [
    ['file system', /\bfrom\s*['"](node:)?(fs|path)(\/[^'"]*)?['"]|\b(require|import)\(\s*['"](node:)?(fs|path)(\/[^'"]*)?['"]/],
    ['WGSL', /@compute|@workgroup_size|var<(storage|uniform|workgroup)|@group\(|@binding\(/],
    ['backend', /\b(activeWebgpu|fusedBackend|getBackend|setBackend|findBackend)\b|\btf\.backend\(|(['"`])(webgpu|wasm|cpu|webgl|tensorflow)\3/],
  ];
  const model = files('src/model');
  assert.ok(model.length > 10 && model.includes(join('src', 'model', 'transformer.ts')), `src/model/ files: ${model.join(', ')}`);
  const found = model.flatMap((file) =>
    readFileSync(join(ROOT, file), 'utf8')
      .split('\n')
      .flatMap((line, i) => rules.filter(([, re]) => re.test(line)).map(([what]) => `${file}:${i + 1} (${what}): ${line.trim()}`)),
  );
  assert.deepEqual(found, []);
  // the rules catch what they are for
  const caught = (line: string) => rules.filter(([, re]) => re.test(line)).map(([what]) => what);
  assert.deepEqual(caught("import * as fs from 'node:fs';"), ['file system']);
  assert.deepEqual(caught('@group(0) @binding(1) var<storage, read> w: array<f32>;'), ['WGSL']);
  assert.deepEqual(caught("if (tf.getBackend() !== 'wasm') return x;"), ['backend']);
  assert.deepEqual(caught('const gpu = fusedBackend();'), ['backend']);
  assert.deepEqual(caught('return layerNormOp(x, w, b); // on webgpu a fused program'), []);
});
