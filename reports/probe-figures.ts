// Figures from results/NAME/probes.json (probes/results-schema.ts): per label, heatmaps of
// probe accuracy and selectivity (accuracy − control accuracy, Hewitt & Liang) over layer ×
// stream, and an overview of where each label is best decoded.
import { format } from 'd3-format';
import type { ProbeRecord, ProbesResult } from '../probes/results-schema.ts';
import { escapeXml } from './escape.ts';
import { type Figure, figureId } from './figure.ts';
import { heatmap } from './figures/heatmap.ts';
import type { Section } from './html-page.ts';

const f2 = format('.2f');

// Every site is captured per module (resid_post of attn is the residual after attention).
const rowKey = (p: ProbeRecord) => `L${p.layer} ${p.module}`;
const colKey = (p: ProbeRecord) => (p.stream === 'sum' ? 'Σ streams' : `stream ${p.stream}`);

/** Rows (layers, in order) × columns (streams, then the sum) of one label at one site. */
export function probeGrid(records: readonly ProbeRecord[], value: (p: ProbeRecord) => number): { rows: string[]; cols: string[]; values: (number | null)[][] } {
  const sorted = [...records].sort((a, b) => a.layer - b.layer || a.module.localeCompare(b.module));
  const rows = [...new Set(sorted.map(rowKey))];
  const streams = [...new Set(records.map((p) => p.stream))].sort((a, b) => (a === 'sum' ? 1 : b === 'sum' ? -1 : a - b));
  const cols = streams.map((s) => (s === 'sum' ? 'Σ streams' : `stream ${s}`));
  const values = rows.map((r) => cols.map((c) => {
    const p = records.find((q) => rowKey(q) === r && colKey(q) === c);
    return p ? value(p) : null;
  }));
  return { rows, cols, values };
}

export function probeHeatmaps(result: ProbesResult, label: string, site: string): Figure[] {
  const recs = result.probes.filter((p) => p.label === label && p.site === site);
  if (recs.length === 0) return [];
  const chance = recs.reduce((s, p) => s + p.chance, 0) / recs.length;
  const acc = probeGrid(recs, (p) => p.accuracy);
  const sel = probeGrid(recs, (p) => p.selectivity);
  const accId = figureId('probe-accuracy', label, site);
  const selId = figureId('probe-selectivity', label, site);
  return [
    {
      id: accId,
      svg: heatmap({ id: accId, title: `Probe accuracy: ${label} (${site})`, xLabel: 'stream', yLabel: 'module', ...acc, scheme: 'viridis', domain: [0, 1], valueLabel: 'test accuracy', annotate: true, fmt: f2, width: 480 }),
      caption: `Test accuracy of a logistic-regression probe for "${label}" on each stream and on the sum of the streams. Majority-class rate ≈ ${f2(chance)}.`,
    },
    {
      id: selId,
      svg: heatmap({ id: selId, title: `Probe selectivity: ${label} (${site})`, xLabel: 'stream', yLabel: 'module', ...sel, scheme: 'diverging', center: 0, valueLabel: 'accuracy − control', annotate: true, fmt: f2, width: 480 }),
      caption: `Selectivity = accuracy − accuracy on the Hewitt–Liang control task (each token type gets a fixed random label): what the probe reads from the stream rather than memorises. Red: the stream encodes "${label}".`,
    },
  ];
}

/** Best selectivity over layers, label × stream: where each label lives. */
export function probeOverview(result: ProbesResult, site: string): Figure | undefined {
  const recs = result.probes.filter((p) => p.site === site);
  if (recs.length === 0) return undefined;
  const labels = [...new Set(recs.map((p) => p.label))];
  const cols = probeGrid(recs, () => 0).cols;
  const values = labels.map((l) => cols.map((c) => {
    const xs = recs.filter((p) => p.label === l && colKey(p) === c).map((p) => p.selectivity);
    return xs.length ? Math.max(...xs) : null;
  }));
  const id = figureId('probe-overview', site);
  return {
    id,
    svg: heatmap({ id, title: `Where each label is decoded (${site})`, xLabel: 'stream', yLabel: 'label', rows: labels, cols, values, scheme: 'diverging', center: 0, valueLabel: 'best selectivity over layers', annotate: true, fmt: f2, width: 520 }),
    caption: 'The best selectivity over layers of each label on each stream. A label decodable from one stream only is concentrated there; from all streams alike, it is spread (or copied).',
  };
}

export function probesSection(result: ProbesResult): Section {
  const sites = [...new Set(result.probes.map((p) => p.site))];
  const figures: Figure[] = [];
  for (const site of sites) {
    const o = probeOverview(result, site);
    if (o) figures.push(o);
    for (const l of result.labels) figures.push(...probeHeatmaps(result, l.name, site));
  }
  const skipped = result.skipped.length ? `<p class="note">${escapeXml(`Not probed: ${result.skipped.map((s) => `${s.label}${s.site ? ` at ${s.site}` : ''}${s.layer !== undefined ? ` layer ${s.layer}` : ''} (${s.reason})`).join('; ')}.`)}</p>` : '';
  return {
    id: 'probes',
    title: 'Linear probes',
    introHtml: escapeXml(`Logistic-regression probes per label, layer and stream (${result.acts}); split by sequence (${result.split.sequences.train}/${result.split.sequences.val}/${result.split.sequences.test} sequences for train/validation/test).`),
    figures,
    html: skipped,
  };
}
