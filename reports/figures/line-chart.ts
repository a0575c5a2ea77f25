// Line chart of several series over a shared x (training step, layer): d3-scale for the
// axes, d3-shape's line generator for the paths, Okabe–Ito colours, dashes for a second kind.
import { extent } from 'd3-array';
import { scaleLinear } from 'd3-scale';
import { line } from 'd3-shape';
import { categorical } from '../palette.ts';
import { axisBottom, axisLeft, el, type Frame, legendRowCount, legendSwatches, num3, svgDoc, text, tip } from '../svg.ts';

export interface LineSeries {
  name: string;
  points: [number, number][];
  color?: string;
  dash?: string;
  /** Draw a dot at each point (few points, e.g. one per layer). */
  markers?: boolean;
  /** With markers: a short text above each point (e.g. which stream dominates there). */
  pointLabels?: string[];
}

export interface LineChartSpec {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  width?: number;
  height?: number;
  yDomain?: [number, number];
  /** Horizontal reference lines, e.g. N_eff = n. */
  refLines?: { y: number; label: string }[];
  /** Vertical reference lines, e.g. the end of the seeding stage; they widen the x domain to show. */
  xRefLines?: { x: number; label: string }[];
  /** Integer ticks only (layers). */
  integerX?: boolean;
}

export function lineChart(spec: LineChartSpec): string {
  const width = spec.width ?? 560;
  const items = spec.series.map((s, i) => ({ label: s.name, color: s.color ?? categorical(i), ...(s.dash ? { dash: s.dash } : {}) }));
  const legendRows = legendRowCount(items, width - 64 - 20, true);
  const height = (spec.height ?? 320) + Math.max(0, legendRows - 1) * 18;
  const f: Frame = { left: 64, top: 30 + legendRows * 18, width: width - 64 - 20, height: height - 30 - legendRows * 18 - 48 };
  const all = spec.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const [x0, x1] = extent([...all.map((p) => p[0]), ...(spec.xRefLines ?? []).map((r) => r.x)]) as [number | undefined, number | undefined];
  const ys = [...all.map((p) => p[1]), ...(spec.refLines ?? []).map((r) => r.y)];
  const [y0, y1] = spec.yDomain ?? [Math.min(...ys), Math.max(...ys)];
  const x = scaleLinear().domain([x0 ?? 0, x1 === x0 ? (x1 ?? 0) + 1 : (x1 ?? 1)]).range([f.left, f.left + f.width]);
  const y = scaleLinear().domain(y0 === y1 ? [y0 - 1, y1 + 1] : [y0, y1]).range([f.top + f.height, f.top]).nice();
  const path = line<[number, number]>().defined(([a, b]) => Number.isFinite(a) && Number.isFinite(b)).x((p) => x(p[0])).y((p) => y(p[1]));
  const intFmt = (v: number) => (Number.isInteger(v) ? String(v) : '');
  let body = axisLeft(y, f.left, spec.yLabel, { gridWidth: f.width }) + axisBottom(x, f.top + f.height, spec.xLabel, spec.integerX ? { fmt: intFmt, ticks: Math.min(10, (x1 ?? 0) - (x0 ?? 0) + 1) } : {});
  for (const r of spec.refLines ?? []) {
    body += el('line', { x1: f.left, x2: f.left + f.width, y1: y(r.y), y2: y(r.y), stroke: '#888', 'stroke-dasharray': '2 3' }) + text(f.left + f.width - 4, y(r.y) - 4, r.label, { 'text-anchor': 'end', fill: '#666' });
  }
  for (const r of spec.xRefLines ?? []) {
    // The label sits on the side with room, haloed in white so that lines under it stay readable.
    const right = x(r.x) > f.left + f.width / 2;
    body += el('line', { x1: x(r.x), x2: x(r.x), y1: f.top, y2: f.top + f.height, stroke: '#555', 'stroke-dasharray': '5 4', class: 'x-ref' }) + text(x(r.x) + (right ? -4 : 4), f.top + 12, r.label, { 'text-anchor': right ? 'end' : 'start', fill: '#444', stroke: '#fff', 'stroke-width': 3, 'paint-order': 'stroke' });
  }
  spec.series.forEach((s, i) => {
    const color = s.color ?? categorical(i);
    body += el('path', { d: path(s.points) ?? '', fill: 'none', stroke: color, 'stroke-width': 2, 'stroke-dasharray': s.dash, class: 'series' }, tip(s.name));
    if (s.markers) for (const [a, b] of s.points) if (Number.isFinite(b)) body += el('circle', { cx: x(a), cy: y(b), r: 3.5, fill: color }, tip(`${s.name}: ${num3(a)} → ${num3(b)}`));
    if (s.markers && s.pointLabels) s.points.forEach(([a, b], k) => { if (Number.isFinite(b) && s.pointLabels?.[k]) body += text(x(a), y(b) - 7, s.pointLabels[k] as string, { 'text-anchor': 'middle', fill: color, class: 'point-label' }); });
  });
  const legend = legendSwatches(items, f.left, 34, { line: true, maxWidth: f.width });
  return svgDoc({ id: spec.id, title: spec.title, width, height }, legend + body);
}
