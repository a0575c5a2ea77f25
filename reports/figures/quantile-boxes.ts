// Box plots drawn from stored quantiles (a results file keeps quantiles, not every token): per
// category a box from the 25% to the 75% quantile, the median across it, whiskers to the 5% and
// 95% quantiles and the mean as a dot; several series side by side; horizontal reference lines
// labelled in the right margin.
import { scaleBand, scaleLinear } from 'd3-scale';
import { categorical } from '../palette.ts';
import { axisLeft, bandLabelsBottom, el, legendRowCount, legendSwatches, num3, svgDoc, text, tip } from '../svg.ts';

export interface QuantileBox {
  q05: number;
  q25: number;
  q50: number;
  q75: number;
  q95: number;
  mean?: number;
}

export interface QuantileBoxesSpec {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  categories: string[];
  /** boxes[i]: the series at category i, or null where not measured. */
  series: { name: string; boxes: (QuantileBox | null)[]; color?: string }[];
  refLines?: { y: number; label: string }[];
  yDomain?: [number, number];
  width?: number;
  height?: number;
}

export function quantileBoxes(spec: QuantileBoxesSpec): string {
  const refW = Math.max(0, ...(spec.refLines ?? []).map((r) => 10 + 6.2 * r.label.length));
  const width = spec.width ?? Math.max(360, 40 + 7.5 * spec.title.length, Math.min(760, 140 + refW + spec.categories.length * spec.series.length * 34));
  const items = spec.series.map((s, g) => ({ label: s.name, color: s.color ?? categorical(g) }));
  const showLegend = spec.series.length > 1;
  const legendRows = showLegend ? legendRowCount(items, width - 84) : 0;
  const height = (spec.height ?? 300) + Math.max(0, legendRows - 1) * 18;
  const top = 30 + legendRows * 18;
  const f = { left: 64, top, width: width - 64 - Math.max(20, refW), height: height - top - 50 };
  const boxes = spec.series.flatMap((s) => s.boxes.filter((b): b is QuantileBox => b !== null));
  const ys = [...boxes.flatMap((b) => [b.q05, b.q95, ...(b.mean === undefined ? [] : [b.mean])]), ...(spec.refLines ?? []).map((r) => r.y)].filter(Number.isFinite);
  let [y0, y1] = spec.yDomain ?? (ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1]);
  if (!spec.yDomain) {
    // A spread at float round-off (mHC-lite's column sums are 1 by construction) is drawn as flat,
    // not magnified until every tick reads the same number.
    const flat = y1 - y0 <= 1e-4 * Math.max(1, Math.abs(y0), Math.abs(y1));
    const pad = flat ? 0.05 * Math.max(1, Math.abs(y0)) : 0.06 * (y1 - y0);
    [y0, y1] = [y0 - pad, y1 + pad];
  }
  const y = scaleLinear().domain([y0, y1]).range([f.top + f.height, f.top]).nice();
  const x = scaleBand<number>().domain(spec.categories.map((_, i) => i)).range([f.left, f.left + f.width]).padding(0.2);
  const slot = x.bandwidth() / Math.max(1, spec.series.length);
  let body = axisLeft(y, f.left, spec.yLabel, { gridWidth: f.width });
  for (const r of spec.refLines ?? []) {
    body += el('line', { x1: f.left, x2: f.left + f.width, y1: y(r.y), y2: y(r.y), stroke: '#888', 'stroke-dasharray': '4 3', class: 'ref' }) + text(f.left + f.width + 4, y(r.y) + 4, r.label, { fill: '#666' });
  }
  spec.series.forEach((s, g) => {
    const color = s.color ?? categorical(g);
    s.boxes.forEach((b, i) => {
      if (!b) return;
      const cx = (x(i) ?? 0) + (g + 0.5) * slot;
      const bw = Math.max(4, Math.min(28, slot * 0.7));
      const label = `${spec.categories[i]}${showLegend ? ` · ${s.name}` : ''}: 5% ${num3(b.q05)}, 25% ${num3(b.q25)}, median ${num3(b.q50)}, 75% ${num3(b.q75)}, 95% ${num3(b.q95)}${b.mean === undefined ? '' : `, mean ${num3(b.mean)}`}`;
      let g2 = el('line', { x1: cx, x2: cx, y1: y(b.q05), y2: y(b.q95), stroke: color, 'stroke-width': 1.2 });
      for (const w of [b.q05, b.q95]) g2 += el('line', { x1: cx - bw / 4, x2: cx + bw / 4, y1: y(w), y2: y(w), stroke: color, 'stroke-width': 1.2 });
      g2 += el('rect', { x: cx - bw / 2, y: y(b.q75), width: bw, height: Math.max(1, y(b.q25) - y(b.q75)), fill: color, 'fill-opacity': 0.35, stroke: color, class: 'box' });
      g2 += el('line', { x1: cx - bw / 2, x2: cx + bw / 2, y1: y(b.q50), y2: y(b.q50), stroke: '#111', 'stroke-width': 1.6 });
      if (b.mean !== undefined && Number.isFinite(b.mean)) g2 += el('circle', { cx, cy: y(b.mean), r: 2.5, fill: '#fff', stroke: '#111' });
      body += el('g', {}, `${tip(label)}${g2}`);
    });
  });
  body += bandLabelsBottom(spec.categories, (i) => (x(i) ?? 0) + x.bandwidth() / 2, f.top + f.height, spec.xLabel);
  if (showLegend) body += legendSwatches(items, f.left, 34, { maxWidth: width - 84 });
  return svgDoc({ id: spec.id, title: spec.title, width, height }, body);
}
