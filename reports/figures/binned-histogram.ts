// Histogram of counts already binned (equal bins over [lo, hi], as a results file stores them):
// one bar per bin, bins from `highlightFrom` on in a second colour, vertical reference lines.
import { scaleLinear } from 'd3-scale';
import { categorical } from '../palette.ts';
import { axisBottom, axisLeft, el, legendSwatches, num3, svgDoc, text, tip } from '../svg.ts';

export interface BinnedHistogramSpec {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  lo: number;
  hi: number;
  /** counts[b] in [lo + b·w, lo + (b+1)·w), w = (hi − lo) / counts.length. */
  counts: number[];
  /** Bins whose lower edge is at or above x get the second colour, with these legend labels. */
  highlightFrom?: { x: number; below: string; above: string };
  refLines?: { x: number; label: string }[];
  width?: number;
  height?: number;
}

export function binnedHistogram(spec: BinnedHistogramSpec): string {
  const width = spec.width ?? 480;
  const height = spec.height ?? 300;
  const legend = spec.highlightFrom !== undefined;
  const top = 30 + (legend ? 18 : 0);
  const f = { left: 64, top, width: width - 64 - 20, height: height - top - 48 };
  const bins = spec.counts.length;
  const hi = spec.hi > spec.lo ? spec.hi : spec.lo + 1;
  const w = (hi - spec.lo) / Math.max(1, bins);
  const x = scaleLinear().domain([spec.lo, hi]).range([f.left, f.left + f.width]);
  const y = scaleLinear().domain([0, Math.max(1, ...spec.counts)]).range([f.top + f.height, f.top]).nice();
  const fmtCount = (v: number) => (!Number.isInteger(v) ? '' : v >= 10_000 ? `${num3(v / 1000)}k` : String(v));
  let body = axisLeft(y, f.left, spec.yLabel, { gridWidth: f.width, fmt: fmtCount });
  spec.counts.forEach((count, b) => {
    if (count === 0) return;
    const a = spec.lo + b * w;
    const high = spec.highlightFrom !== undefined && a >= spec.highlightFrom.x;
    const x0 = x(a);
    const x1 = x(a + w);
    body += el('rect', { x: x0 + 0.5, y: y(count), width: Math.max(0.5, x1 - x0 - 1), height: y(0) - y(count), fill: categorical(high ? 3 : 0), class: 'bar' }, tip(`${count} in [${num3(a)}, ${num3(a + w)}${b === bins - 1 ? ']' : ')'}`));
  });
  for (const r of spec.refLines ?? []) {
    if (r.x < spec.lo || r.x > hi) continue;
    body += el('line', { x1: x(r.x), x2: x(r.x), y1: f.top, y2: f.top + f.height, stroke: '#000', 'stroke-dasharray': '4 3', class: 'ref' }) + text(x(r.x) - 4, f.top + 12, r.label, { fill: '#000', 'font-size': 10, 'text-anchor': 'end' });
  }
  body += axisBottom(x, f.top + f.height, spec.xLabel);
  if (spec.highlightFrom) body += legendSwatches([{ label: spec.highlightFrom.below, color: categorical(0) }, { label: spec.highlightFrom.above, color: categorical(3) }], f.left, 34, { maxWidth: f.width });
  return svgDoc({ id: spec.id, title: spec.title, width, height }, body);
}
