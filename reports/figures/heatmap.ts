// Heatmap of a [row][column] table of numbers (null where not measured): a sequential
// (viridis) or diverging (blue–white–red, centred) colour scale with a colour bar.
import { scaleLinear, scaleSequential } from 'd3-scale';
import { type ColorScheme, interpolator, textColorOn } from '../palette.ts';
import { bandLabelsBottom, bandLabelsLeft, colorBar, colorBarWidth, el, num3, svgDoc, text, tip } from '../svg.ts';

export interface HeatmapSpec {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  rows: string[];
  cols: string[];
  values: (number | null)[][];
  scheme: ColorScheme;
  /** Colour bar label: what the colour means. */
  valueLabel: string;
  /** Default: the data's extent; diverging scales are made symmetric about `center`. */
  domain?: [number, number];
  center?: number;
  /** Print values in cells that are large enough. */
  annotate?: boolean;
  /** Text to print in each cell instead of its value (null: none). */
  annotations?: (string | null)[][];
  fmt?: (v: number) => string;
  /** Tooltip of a null cell; default 'not measured'. */
  missingLabel?: string;
  width?: number;
  /** Vertical markers between columns, e.g. the end of the seeding stage. */
  colMarkers?: { col: number; label: string }[];
  rotateColLabels?: boolean;
}

export function heatmap(spec: HeatmapSpec): string {
  const fmt = spec.fmt ?? num3;
  const finite = spec.values.flat().filter((v): v is number => v !== null && Number.isFinite(v));
  let [d0, d1] = spec.domain ?? [Math.min(...finite), Math.max(...finite)];
  if (!finite.length && !spec.domain) [d0, d1] = [0, 1];
  if (spec.scheme === 'diverging') {
    const c = spec.center ?? 0;
    const r = Math.max(Math.abs(d0 - c), Math.abs(d1 - c)) || 1;
    [d0, d1] = [c - r, c + r];
  } else if (d0 === d1) d1 = d0 + 1;
  const color = scaleSequential(interpolator(spec.scheme)).domain([d0, d1]).clamp(true);
  const labelW = Math.min(170, 12 + 6.3 * Math.max(4, ...spec.rows.map((r) => r.length)));
  const width = spec.width ?? Math.max(360, Math.min(760, labelW + 60 + spec.cols.length * 44 + 90));
  const left = labelW + 44;
  // The bar is tall enough for its rotated label and ticks 22 px apart at least.
  const ch = Math.max(14, Math.min(30, 420 / Math.max(1, spec.rows.length)));
  const plotH = ch * spec.rows.length;
  const barH = Math.max(40 + spec.valueLabel.length * 6, plotH);
  const ticks = scaleLinear().domain([d0, d1]).ticks(Math.max(2, Math.floor(barH / 22)));
  const plotW = width - left - 14 - colorBarWidth(ticks, fmt) - 8;
  const cw = plotW / Math.max(1, spec.cols.length);
  const top = 34;
  const bottomSpace = spec.rotateColLabels ? 70 : 48;
  const height = top + plotH + bottomSpace;
  let body = '';
  spec.values.forEach((row, i) => {
    spec.cols.forEach((col, j) => {
      const v = row[j] ?? null;
      const x = left + j * cw;
      const y = top + i * ch;
      const ok = v !== null && Number.isFinite(v);
      const fill = ok ? color(v) : '#eee';
      const note = spec.annotations?.[i]?.[j];
      body += el('rect', { x, y, width: cw + 0.3, height: ch + 0.3, fill, class: 'cell' }, tip(`${spec.rows[i]} · ${col}: ${ok ? fmt(v) : (spec.missingLabel ?? 'not measured')}${note ? ` (${note})` : ''}`));
      const label = spec.annotations ? (spec.annotations[i]?.[j] ?? null) : spec.annotate && ok ? fmt(v) : null;
      if (label !== null && ok && cw >= 24 && ch >= 14) body += text(x + cw / 2, y + ch / 2 + 4, label, { 'text-anchor': 'middle', fill: textColorOn(fill), 'font-size': 10, 'pointer-events': 'none' });
    });
  });
  body += el('rect', { x: left, y: top, width: plotW, height: plotH, fill: 'none', stroke: '#999' });
  for (const m of spec.colMarkers ?? []) {
    const x = left + m.col * cw;
    body += el('line', { x1: x, x2: x, y1: top - 4, y2: top + plotH + 4, stroke: '#000', 'stroke-width': 1.5, 'stroke-dasharray': '4 2' }) + text(x + 3, top - 6, m.label, { fill: '#000', 'font-size': 10 });
  }
  body += bandLabelsLeft(spec.rows, (i) => top + (i + 0.5) * ch, left);
  body += text(14, top + plotH / 2, spec.yLabel, { 'text-anchor': 'middle', class: 'axis-label', transform: `rotate(-90 14 ${top + plotH / 2})` });
  body += bandLabelsBottom(spec.cols, (j) => left + (j + 0.5) * cw, top + plotH, spec.xLabel, { maxLabels: Math.max(2, Math.floor(plotW / 38)), rotate: spec.rotateColLabels === true });
  body += colorBar((v) => color(v), [d0, d1], ticks, left + plotW + 14, top, barH, spec.valueLabel, fmt);
  return svgDoc({ id: spec.id, title: spec.title, width, height: Math.max(height, top + barH + 24) }, body);
}
