// Means with 95% confidence intervals, one row per group, each seed's value as a hollow dot:
// whether two groups differ beyond seed noise is read from whether their intervals overlap.
import { scaleLinear } from 'd3-scale';
import { categorical } from '../palette.ts';
import { axisBottom, bandLabelsLeft, el, num3, svgDoc, tip } from '../svg.ts';

export interface IntervalRow {
  label: string;
  mean: number;
  lo: number;
  hi: number;
  values: number[];
}

export function intervalPlot(spec: { id: string; title: string; xLabel: string; rows: IntervalRow[]; width?: number }): string {
  const width = spec.width ?? 560;
  const labelW = Math.min(200, 16 + 6.3 * Math.max(6, ...spec.rows.map((r) => r.label.length)));
  const rowH = 28;
  const top = 34;
  const plotH = rowH * spec.rows.length;
  const height = top + plotH + 50;
  const all = spec.rows.flatMap((r) => [r.lo, r.hi, ...r.values]).filter(Number.isFinite);
  const [a, b] = all.length ? [Math.min(...all), Math.max(...all)] : [0, 1];
  const pad = (b - a) * 0.05 || 0.5;
  const x = scaleLinear().domain([a - pad, b + pad]).range([labelW, width - 20]).nice();
  let body = '';
  spec.rows.forEach((r, i) => {
    const y = top + (i + 0.5) * rowH;
    const color = categorical(i);
    body += el('line', { x1: labelW, x2: width - 20, y1: y, y2: y, stroke: '#eee' });
    if (Number.isFinite(r.lo) && Number.isFinite(r.hi)) body += el('line', { x1: x(r.lo), x2: x(r.hi), y1: y, y2: y, stroke: color, 'stroke-width': 3, class: 'ci' }, tip(`${r.label}: 95% CI ${num3(r.lo)} to ${num3(r.hi)}`));
    for (const v of r.values) body += el('circle', { cx: x(v), cy: y - 7, r: 3, fill: 'none', stroke: color }, tip(`${r.label}: ${num3(v)}`));
    if (Number.isFinite(r.mean)) body += el('circle', { cx: x(r.mean), cy: y, r: 5, fill: color, stroke: '#fff' }, tip(`${r.label}: mean ${num3(r.mean)}`));
  });
  body += bandLabelsLeft(spec.rows.map((r) => r.label), (i) => top + (i + 0.5) * rowH, labelW);
  body += axisBottom(x, top + plotH, spec.xLabel);
  return svgDoc({ id: spec.id, title: spec.title, width, height }, body);
}
