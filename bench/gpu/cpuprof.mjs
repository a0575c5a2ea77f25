// Summarises a V8 CPU profile (node --cpu-prof) by self time: top functions, and totals per
// package (tfjs-backend-webgpu, tfjs-core, webgpu/dawn.node, the project's src/, ...).
// usage: node bench/gpu/cpuprof.mjs FILE.cpuprofile [TOP=40]   -> one JSON object on stdout
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const top = Number(topArg ?? 40);
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map(); // node id -> microseconds
const dts = prof.timeDeltas;
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i];
  self.set(id, (self.get(id) ?? 0) + (dts[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const where = (url) => {
  if (!url) return '(native/V8)';
  const m = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (m) return m[1];
  if (url.includes('/src/')) return 'hcprobe src/';
  if (url.includes('/bench/')) return 'bench/';
  if (url.startsWith('node:')) return 'node:internal';
  return url.split('/').slice(-2).join('/');
};
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const fn = new Map();
const pkg = new Map();
const nativeBy = new Map(); // native (no script) frames, by the JS function that called them
for (const [id, us] of self) {
  const n = byId.get(id);
  const cf = n.callFrame;
  const name = cf.functionName || '(anonymous)';
  const key = `${name} ${where(cf.url)}:${cf.lineNumber + 1}`;
  fn.set(key, (fn.get(key) ?? 0) + us);
  const p = ['(garbage collector)', '(program)', '(idle)'].includes(name) ? name : where(cf.url);
  pkg.set(p, (pkg.get(p) ?? 0) + us);
  if (!cf.url && !name.startsWith('(')) {
    const pn = byId.get(parent.get(id));
    const pcf = pn?.callFrame;
    const pk = pcf ? `${name} <- ${pcf.functionName || '(anonymous)'} ${where(pcf.url)}:${pcf.lineNumber + 1}` : name;
    nativeBy.set(pk, (nativeBy.get(pk) ?? 0) + us);
  } else if (!cf.url && name === '(anonymous)') {
    const pn = byId.get(parent.get(id));
    const pcf = pn?.callFrame;
    const pk = pcf ? `(native) <- ${pcf.functionName || '(anonymous)'} ${where(pcf.url)}:${pcf.lineNumber + 1}` : name;
    nativeBy.set(pk, (nativeBy.get(pk) ?? 0) + us);
  }
}
const ms = (us) => Math.round(us / 100) / 10;
const out = {
  total_ms: ms(total),
  by_package: [...pkg].sort((a, b) => b[1] - a[1]).map(([k, v]) => ({ where: k, self_ms: ms(v), pct: Math.round((1000 * v) / total) / 10 })),
  native_by_caller: [...nativeBy]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, v]) => ({ fn: k, self_ms: ms(v), pct: Math.round((1000 * v) / total) / 10 })),
  top_functions: [...fn]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, v]) => ({ fn: k, self_ms: ms(v), pct: Math.round((1000 * v) / total) / 10 })),
};
process.stdout.write(`${JSON.stringify(out)}\n`);
