// Bars of signed values, one per category (e.g. the logit attribution carried by each stream):
// a linear y axis that always includes zero, bars up or down from it, one Okabe–Ito colour each.
import { scaleBand, scaleLinear } from 'd3-scale';
import { categorical } from '../palette.ts';
import { axisLeft, bandLabelsBottom, el, num3, svgDoc, text, tip } from '../svg.ts';

export interface BarChartSpec {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  categories: string[];
  values: number[];
  /** Default: Okabe–Ito by category index. */
  colorOf?: (i: number) => string;
  width?: number;
  height?: number;
}

export function barChart(spec: BarChartSpec): string {
  const width = spec.width ?? Math.max(320, Math.min(720, 120 + spec.categories.length * 52));
  const height = spec.height ?? 300;
  const f = { left: 64, top: 34, width: width - 64 - 16, height: height - 34 - 50 };
  const finite = spec.values.filter(Number.isFinite);
  const lo = Math.min(0, ...finite);
  const hi = Math.max(0, ...finite);
  const y = scaleLinear().domain(lo === hi ? [0, 1] : [lo, hi]).range([f.top + f.height, f.top]).nice();
  const x = scaleBand<number>().domain(spec.categories.map((_, i) => i)).range([f.left, f.left + f.width]).padding(0.25);
  const colorOf = spec.colorOf ?? categorical;
  let body = axisLeft(y, f.left, spec.yLabel, { gridWidth: f.width });
  spec.values.forEach((v, i) => {
    if (!Number.isFinite(v)) return;
    const y0 = y(0);
    const y1 = y(v);
    const top = Math.min(y0, y1);
    body += el('rect', { x: x(i), y: top, width: x.bandwidth(), height: Math.max(0.5, Math.abs(y1 - y0)), fill: colorOf(i), class: 'bar' }, tip(`${spec.categories[i]}: ${num3(v)}`));
    body += text((x(i) ?? 0) + x.bandwidth() / 2, v >= 0 ? top - 4 : top + Math.abs(y1 - y0) + 12, num3(v), { 'text-anchor': 'middle', 'font-size': 10, fill: '#333' });
  });
  body += el('line', { x1: f.left, x2: f.left + f.width, y1: y(0), y2: y(0), stroke: '#333' });
  body += bandLabelsBottom(spec.categories, (i) => (x(i) ?? 0) + x.bandwidth() / 2, f.top + f.height, spec.xLabel);
  return svgDoc({ id: spec.id, title: spec.title, width, height }, body);
}
