// Exports one probe problem of a capture for the scikit-learn comparison: the z-scored
// features of one (site, layer, module, stream) split by sequence exactly as `hcprobe probe`
// splits them, and every label's and control task's classes per part (−1 = no label).
// usage: node --import tsx bench/probes/export.ts ACTS SITE LAYER MODULE STREAM MAX_TOKENS OUT_DIR
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { controlLabels } from '../../probes/control-task.ts';
import { PROBE_DEFAULTS, sumStreams } from '../../probes/linear-probes.ts';
import { loadStreamSite } from '../../probes/load-site.ts';
import { prepareFeatures } from '../../probes/probe-features.ts';
import type { StreamSite } from '../../probes/results-schema.ts';
import { splitBySequence } from '../../probes/sequence-split.ts';
import { readManifest } from '../../src/capture/read.ts';
import type { Sublayer } from '../../src/model/hooks.ts';
import { writeNpy } from './npy.ts';

const [acts, site, layer, module, stream, maxTokens, out] = process.argv.slice(2) as [string, StreamSite, string, Sublayer, string, string, string];
if (!out) throw new Error('usage: export.ts ACTS SITE LAYER MODULE STREAM MAX_TOKENS OUT_DIR');
const m = readManifest(acts);
const labels = m.labels;
const data = await loadStreamSite(acts, m, site, Number(layer), module, labels.map((l) => l.name), Number(maxTokens));
const split = splitBySequence(data.seq, PROBE_DEFAULTS.split, 0);
const targets = labels.flatMap((l) => {
  const y = data.labels.get(l.name) as Int32Array;
  return [
    { name: l.name, nClasses: l.values.length, y },
    { name: `control:${l.name}`, nClasses: l.values.length, y: controlLabels(data.token, y, l.values.length, 0, l.name) },
  ];
});
const x = stream === 'sum' ? sumStreams(data.streams) : (data.streams[Number(stream)] as Float32Array);
const f = prepareFeatures(x, data.dModel, split, (r) => targets.some((t) => (t.y[r] as number) >= 0));
mkdirSync(out, { recursive: true });
for (const part of ['train', 'val', 'test'] as const) {
  writeNpy(join(out, `x_${part}.npy`), f[part].x, [f[part].rows.length, f.dim]);
  targets.forEach((t, i) => writeNpy(join(out, `y${i}_${part}.npy`), Int32Array.from(f[part].rows, (r) => t.y[r] as number), [f[part].rows.length]));
}
writeFileSync(join(out, 'meta.json'), `${JSON.stringify({ acts, site, layer: Number(layer), module, stream, max_tokens: Number(maxTokens), dim: f.dim, l2_grid: PROBE_DEFAULTS.l2Grid, targets: targets.map((t) => ({ name: t.name, n_classes: t.nClasses })) }, null, 1)}\n`);
process.stderr.write(`exported ${f.train.rows.length}/${f.val.rows.length}/${f.test.rows.length} rows × ${f.dim} and ${targets.length} targets to ${out}\n`);
