// Histogram over a fixed domain, stacked by group (e.g. the stream a feature lives in), with
// optional vertical reference lines (e.g. the 0.5 share above which a feature is concentrated).
import { bin } from 'd3-array';
import { scaleLinear } from 'd3-scale';
import { categorical } from '../palette.ts';
import { axisBottom, axisLeft, el, legendRowCount, legendSwatches, svgDoc, text, tip } from '../svg.ts';

export interface HistogramSpec {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  /** values[g] are group g's observations. */
  values: number[][];
  groupLabel: (g: number) => string;
  domain: [number, number];
  bins: number;
  refLines?: { x: number; label: string }[];
  width?: number;
  height?: number;
}

export function histogram(spec: HistogramSpec): string {
  const width = spec.width ?? 480;
  const items = spec.values.map((_, g) => ({ label: spec.groupLabel(g), color: categorical(g) }));
  const legendRows = legendRowCount(items, width - 80);
  const height = (spec.height ?? 300) + (legendRows - 1) * 18;
  const top = 30 + legendRows * 18;
  const f = { left: 64, top, width: width - 64 - 20, height: height - top - 48 };
  const [d0, d1] = spec.domain;
  const thresholds = Array.from({ length: spec.bins - 1 }, (_, i) => d0 + ((i + 1) * (d1 - d0)) / spec.bins);
  const binner = bin().domain([d0, d1]).thresholds(thresholds);
  const counts = spec.values.map((vs) => binner(vs.filter((v) => v >= d0 && v <= d1)).map((b) => b.length));
  const totals = Array.from({ length: spec.bins }, (_, b) => counts.reduce((s, c) => s + (c[b] ?? 0), 0));
  const x = scaleLinear().domain([d0, d1]).range([f.left, f.left + f.width]);
  const y = scaleLinear().domain([0, Math.max(1, ...totals)]).range([f.top + f.height, f.top]).nice();
  let body = axisLeft(y, f.left, spec.yLabel, { gridWidth: f.width, fmt: (v) => (Number.isInteger(v) ? String(v) : '') });
  for (let b = 0; b < spec.bins; b++) {
    let acc = 0;
    const bx0 = x(d0 + (b * (d1 - d0)) / spec.bins);
    const bx1 = x(d0 + ((b + 1) * (d1 - d0)) / spec.bins);
    counts.forEach((c, g) => {
      const n = c[b] ?? 0;
      if (n === 0) return;
      const y0 = y(acc);
      acc += n;
      body += el('rect', { x: bx0 + 0.5, y: y(acc), width: Math.max(0, bx1 - bx0 - 1), height: y0 - y(acc), fill: categorical(g), class: 'bar' }, tip(`${spec.groupLabel(g)}: ${n} in [${(d0 + (b * (d1 - d0)) / spec.bins).toFixed(2)}, ${(d0 + ((b + 1) * (d1 - d0)) / spec.bins).toFixed(2)})`));
    });
  }
  for (const r of spec.refLines ?? []) body += el('line', { x1: x(r.x), x2: x(r.x), y1: f.top, y2: f.top + f.height, stroke: '#000', 'stroke-dasharray': '4 3' }) + text(x(r.x) + 4, f.top + 12, r.label, { fill: '#000', 'font-size': 10 });
  body += axisBottom(x, f.top + f.height, spec.xLabel);
  body += legendSwatches(items, f.left, 34, { maxWidth: width - 80 });
  return svgDoc({ id: spec.id, title: spec.title, width, height }, body);
}
