// Times our probe fit (probeFeatures: every target along the λ path with early stopping, then
// test accuracy) on an exported problem; best of REPEATS runs. Writes ours.json beside it.
// usage: node --import tsx bench/probes/fit-ours.ts DIR [REPEATS]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { probeFeatures, type PreparedFeatures, type ProbeTarget } from '../../probes/probe-features.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { readNpy } from './npy.ts';

const dir = process.argv[2] as string;
const repeats = Number(process.argv[3] ?? 3);
const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { dim: number; l2_grid: number[]; targets: { name: string; n_classes: number }[] };
const info = await initBackend('wasm');
const parts = ['train', 'val', 'test'] as const;
const xs = parts.map((p) => readNpy(join(dir, `x_${p}.npy`)).data as Float32Array);
const counts = xs.map((x) => x.length / meta.dim);
let offset = 0;
const rows = counts.map((c) => {
  const r = Int32Array.from({ length: c }, (_, i) => offset + i);
  offset += c;
  return r;
});
const f: PreparedFeatures = {
  dim: meta.dim,
  train: { x: xs[0] as Float32Array, rows: rows[0] as Int32Array },
  val: { x: xs[1] as Float32Array, rows: rows[1] as Int32Array },
  test: { x: xs[2] as Float32Array, rows: rows[2] as Int32Array },
};
const targets: ProbeTarget[] = meta.targets.map((t, i) => {
  const y = new Int32Array(offset);
  let o = 0;
  for (const p of parts) {
    const part = readNpy(join(dir, `y${i}_${p}.npy`)).data as Int32Array;
    y.set(part, o);
    o += part.length;
  }
  return { name: t.name, nClasses: t.n_classes, y };
});
let best = Number.POSITIVE_INFINITY;
let outcomes: ReturnType<typeof probeFeatures> = [];
for (let r = 0; r < repeats; r++) {
  const t0 = performance.now();
  outcomes = probeFeatures(f, targets, meta.l2_grid);
  best = Math.min(best, (performance.now() - t0) / 1000);
}
const result = {
  backend: info.device,
  seconds: best,
  repeats,
  targets: outcomes.map((o, i) => ({ name: (targets[i] as ProbeTarget).name, ...(o.ok ? { accuracy: o.accuracy, chance: o.chance, l2: o.l2, iterations: o.iterations, n_train: o.nTrain, n_test: o.nTest } : { skipped: o.reason }) })),
};
writeFileSync(join(dir, 'ours.json'), `${JSON.stringify(result, null, 1)}\n`);
process.stderr.write(`ours: ${best.toFixed(2)} s for ${targets.length} targets × ${meta.l2_grid.length} λ (best of ${repeats})\n`);
