// Building SVG as strings, with no DOM: elements, the document wrapper, axes from d3-scale
// ticks, and legends (swatches for categories, a colour bar for values).
import { format } from 'd3-format';
import { escapeXml } from './escape.ts';

export type Attrs = Record<string, string | number | undefined>;

/** Coordinates to 0.01 px: smaller files, no visible change. */
export const px = (v: number): string => String(Math.round(v * 100) / 100);

function attrs(a: Attrs): string {
  let s = '';
  for (const [k, v] of Object.entries(a)) {
    if (v === undefined) continue;
    s += ` ${k}="${escapeXml(typeof v === 'number' ? px(v) : v)}"`;
  }
  return s;
}

/** An element; `children` is markup already built (escape text with `text`). */
export function el(tag: string, a: Attrs, children = ''): string {
  return children === '' ? `<${tag}${attrs(a)}/>` : `<${tag}${attrs(a)}>${children}</${tag}>`;
}

/** A text element holding an escaped string. */
export function text(x: number, y: number, value: unknown, a: Attrs = {}): string {
  return `<text${attrs({ x, y, ...a })}>${escapeXml(value)}</text>`;
}

/** A native tooltip: the `<title>` child of the element it describes. */
export function tip(value: unknown): string {
  return `<title>${escapeXml(value)}</title>`;
}

export interface SvgSpec {
  width: number;
  height: number;
  /** Read by screen readers and shown as the figure's heading. */
  title: string;
  /** Identifies the figure in the page and its file name. */
  id: string;
}

export const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif';

export function svgDoc(spec: SvgSpec, body: string): string {
  const titleId = `${spec.id}-title`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="figure" id="${escapeXml(spec.id)}" width="${px(spec.width)}" height="${px(spec.height)}" viewBox="0 0 ${px(spec.width)} ${px(spec.height)}" role="img" aria-labelledby="${escapeXml(titleId)}" font-family="${escapeXml(FONT)}" font-size="11">` +
    `<title id="${escapeXml(titleId)}">${escapeXml(spec.title)}</title>` +
    `<rect width="100%" height="100%" fill="#fff"/>` +
    text(spec.width / 2, 16, spec.title, { 'text-anchor': 'middle', 'font-size': 13, 'font-weight': 600 }) +
    `${body}</svg>`
  );
}

/** Plot area inside margins. */
export interface Frame {
  left: number;
  top: number;
  width: number;
  height: number;
}

export const num3 = format('.3~g');

export interface ContinuousScale {
  (v: number): number;
  ticks(count?: number): number[];
  domain(): number[];
  range(): number[];
}

/**
 * num3 (three significant digits), unless that prints two ticks alike (0.9995 and 1 both as "1"):
 * then as many decimals as the tick step needs.
 */
export function distinctFormat(ticks: readonly number[]): (v: number) => string {
  const labels = ticks.map(num3);
  if (new Set(labels).size === labels.length || ticks.length < 2) return num3;
  const step = Math.abs((ticks[1] as number) - (ticks[0] as number));
  const decimals = Math.min(12, Math.max(0, -Math.floor(Math.log10(step))));
  return (v) => v.toFixed(decimals);
}

/** Bottom axis of a continuous scale; `label` sits centred below the ticks. */
export function axisBottom(scale: ContinuousScale, y: number, label: string, o: { ticks?: number; fmt?: (v: number) => string } = {}): string {
  const [r0, r1] = scale.range() as [number, number];
  const ticks = scale.ticks(o.ticks ?? 6);
  const fmt = o.fmt ?? distinctFormat(ticks);
  let s = el('line', { x1: r0, x2: r1, y1: y, y2: y, stroke: '#333' });
  for (const t of ticks) {
    const x = scale(t);
    s += el('line', { x1: x, x2: x, y1: y, y2: y + 4, stroke: '#333' }) + text(x, y + 15, fmt(t), { 'text-anchor': 'middle', fill: '#333' });
  }
  return s + text((r0 + r1) / 2, y + 32, label, { 'text-anchor': 'middle', fill: '#111', class: 'axis-label' });
}

/** Left axis of a continuous scale with light grid lines across `gridWidth`. */
export function axisLeft(scale: ContinuousScale, x: number, label: string, o: { ticks?: number; fmt?: (v: number) => string; gridWidth?: number } = {}): string {
  const [r0, r1] = scale.range() as [number, number];
  const ticks = scale.ticks(o.ticks ?? 5);
  const fmt = o.fmt ?? distinctFormat(ticks);
  let s = el('line', { x1: x, x2: x, y1: r0, y2: r1, stroke: '#333' });
  for (const t of ticks) {
    const y = scale(t);
    if (o.gridWidth) s += el('line', { x1: x, x2: x + o.gridWidth, y1: y, y2: y, stroke: '#e5e5e5' });
    s += el('line', { x1: x - 4, x2: x, y1: y, y2: y, stroke: '#333' }) + text(x - 6, y + 4, fmt(t), { 'text-anchor': 'end', fill: '#333' });
  }
  const cy = (r0 + r1) / 2;
  return s + text(x - 44, cy, label, { 'text-anchor': 'middle', fill: '#111', class: 'axis-label', transform: `rotate(-90 ${px(x - 44)} ${px(cy)})` });
}

/** Category labels along x at band centres; long label sets are thinned to stay legible. */
export function bandLabelsBottom(labels: string[], center: (i: number) => number, y: number, label: string, o: { maxLabels?: number; rotate?: boolean } = {}): string {
  const every = Math.max(1, Math.ceil(labels.length / (o.maxLabels ?? 24)));
  let s = '';
  labels.forEach((l, i) => {
    if (i % every !== 0) return;
    const x = center(i);
    s += o.rotate
      ? text(x, y + 10, l, { 'text-anchor': 'end', fill: '#333', transform: `rotate(-40 ${px(x)} ${px(y + 10)})` })
      : text(x, y + 14, l, { 'text-anchor': 'middle', fill: '#333' });
  });
  const xs = labels.map((_, i) => center(i));
  const mid = xs.length ? ((xs[0] as number) + (xs[xs.length - 1] as number)) / 2 : 0;
  return s + text(mid, y + (o.rotate ? 46 : 32), label, { 'text-anchor': 'middle', fill: '#111', class: 'axis-label' });
}

/** Category labels along y at band centres. */
export function bandLabelsLeft(labels: string[], center: (i: number) => number, x: number): string {
  return labels.map((l, i) => text(x - 6, center(i) + 4, l, { 'text-anchor': 'end', fill: '#333' })).join('');
}

export interface LegendItem {
  label: string;
  color: string;
  dash?: string;
}

/** Width a legend entry takes: swatch, label at about 6.2 px a character, gap. */
const itemWidth = (it: LegendItem, line: boolean) => (line ? 30 : 24) + it.label.length * 6.2;

/** How many rows `items` need in `maxWidth` (to reserve the space before drawing). */
export function legendRowCount(items: readonly LegendItem[], maxWidth: number, line = false): number {
  let rows = items.length ? 1 : 0;
  let cx = 0;
  for (const it of items) {
    const w = itemWidth(it, line);
    if (cx > 0 && cx + w > maxWidth) {
      rows++;
      cx = 0;
    }
    cx += w;
  }
  return rows;
}

/** Coloured swatches (or line samples) with labels from (x, y), wrapping at `maxWidth`; rows 18 px apart. */
export function legendSwatches(items: readonly LegendItem[], x: number, y: number, o: { line?: boolean; title?: string; maxWidth?: number } = {}): string {
  let s = '<g class="legend">';
  let cx = x;
  let cy = y;
  const line = o.line === true;
  const maxX = x + (o.maxWidth ?? 10_000);
  if (o.title) {
    s += text(cx, cy + 4, o.title, { fill: '#111', 'font-weight': 600 });
    cx += o.title.length * 6.5 + 8;
  }
  for (const it of items) {
    const w = itemWidth(it, line);
    if (cx > x && cx + w > maxX) {
      cx = x;
      cy += 18;
    }
    s += line
      ? el('line', { x1: cx, x2: cx + 18, y1: cy, y2: cy, stroke: it.color, 'stroke-width': 2.5, 'stroke-dasharray': it.dash })
      : el('rect', { x: cx, y: cy - 6, width: 12, height: 12, fill: it.color });
    s += text(cx + (line ? 22 : 16), cy + 4, it.label, { fill: '#111' });
    cx += w;
  }
  return `${s}</g>`;
}

/** Horizontal room a colour bar takes: bar, ticks, their widest label, the rotated title. */
export function colorBarWidth(ticks: readonly number[], fmt: (v: number) => string = num3): number {
  return 18 + 6.4 * Math.max(1, ...ticks.map((t) => fmt(t).length)) + 22;
}

/** A vertical colour bar of `color` over `domain`, with ticks and a label. */
export function colorBar(color: (v: number) => string, domain: [number, number], ticks: number[], x: number, y: number, height: number, label: string, fmt: (v: number) => string = num3): string {
  const [d0, d1] = domain;
  const steps = 40;
  let s = '<g class="legend">';
  for (let i = 0; i < steps; i++) {
    const v = d1 - ((i + 0.5) / steps) * (d1 - d0);
    s += el('rect', { x, y: y + (i * height) / steps, width: 12, height: height / steps + 0.5, fill: color(v) });
  }
  s += el('rect', { x, y, width: 12, height, fill: 'none', stroke: '#999' });
  const pos = (v: number) => y + (d1 === d0 ? height / 2 : ((d1 - v) / (d1 - d0)) * height);
  for (const t of ticks) s += el('line', { x1: x + 12, x2: x + 16, y1: pos(t), y2: pos(t), stroke: '#333' }) + text(x + 18, pos(t) + 4, fmt(t), { fill: '#333' });
  const cx = x + colorBarWidth(ticks, fmt) - 8;
  const cy = y + height / 2;
  return `${s}${text(cx, cy, label, { 'text-anchor': 'middle', fill: '#111', class: 'axis-label', transform: `rotate(90 ${px(cx)} ${px(cy)})` })}</g>`;
}

/** A note drawn in place of a figure's content when there is nothing to draw. */
export function emptyNote(spec: SvgSpec, message: string): string {
  return svgDoc({ ...spec, height: Math.min(spec.height, 80) }, text(spec.width / 2, 50, message, { 'text-anchor': 'middle', fill: '#666' }));
}
