// Stacked bars of shares that sum to one (signal share per layer, read/write shares per
// module): one bar per category, one Okabe–Ito colour per stream, a legend naming streams.
import { scaleBand, scaleLinear } from 'd3-scale';
import { categorical, textColorOn } from '../palette.ts';
import { axisLeft, bandLabelsBottom, el, legendRowCount, legendSwatches, svgDoc, text, tip } from '../svg.ts';

export interface StackedBarsSpec {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  categories: string[];
  /** [category][part], each row summing to about one. */
  shares: number[][];
  partLabel: (k: number) => string;
  /** Default: Okabe–Ito by part index. */
  colorOf?: (k: number) => string;
  legendTitle?: string;
  width?: number;
  height?: number;
}

export function stackedBars(spec: StackedBarsSpec): string {
  const width = spec.width ?? Math.max(360, Math.min(760, 120 + spec.categories.length * 46));
  const parts = Math.max(0, ...spec.shares.map((r) => r.length));
  const colorOf = spec.colorOf ?? categorical;
  const items = Array.from({ length: parts }, (_, k) => ({ label: spec.partLabel(k), color: colorOf(k) }));
  const legendRows = legendRowCount(items, width - 80);
  const height = (spec.height ?? 300) + (legendRows - 1) * 18;
  const top = 30 + legendRows * 18;
  const f = { left: 64, top, width: width - 64 - 16, height: height - top - 50 };
  const x = scaleBand<number>().domain(spec.categories.map((_, i) => i)).range([f.left, f.left + f.width]).padding(0.2);
  const y = scaleLinear().domain([0, 1]).range([f.top + f.height, f.top]);
  let body = axisLeft(y, f.left, spec.yLabel, { gridWidth: f.width, fmt: (v) => `${Math.round(v * 100)}%` });
  spec.shares.forEach((row, i) => {
    let acc = 0;
    row.forEach((s, k) => {
      const y0 = y(acc);
      acc += s;
      const y1 = y(acc);
      const fill = colorOf(k);
      body += el('rect', { x: x(i), y: y1, width: x.bandwidth(), height: Math.max(0, y0 - y1), fill, stroke: '#fff', 'stroke-width': 0.5, class: 'bar' }, tip(`${spec.categories[i]} · ${spec.partLabel(k)}: ${(s * 100).toFixed(1)}%`));
      if (y0 - y1 > 14 && x.bandwidth() > 26) body += text((x(i) ?? 0) + x.bandwidth() / 2, (y0 + y1) / 2 + 4, `${Math.round(s * 100)}`, { 'text-anchor': 'middle', 'font-size': 10, fill: textColorOn(fill), 'pointer-events': 'none' });
    });
  });
  body += bandLabelsBottom(spec.categories, (i) => (x(i) ?? 0) + x.bandwidth() / 2, f.top + f.height, spec.xLabel);
  body += legendSwatches(items, f.left, 34, { maxWidth: width - 80, ...(spec.legendTitle ? { title: spec.legendTitle } : {}) });
  return svgDoc({ id: spec.id, title: spec.title, width, height }, body);
}
