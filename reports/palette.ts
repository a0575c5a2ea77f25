// Colour-blind-safe colours: Okabe & Ito (2008) for categories such as streams; viridis
// (sequential) and RdBu/PuOr-like diverging scales from d3-scale-chromatic for values.
import { interpolateCividis, interpolateRdBu, interpolateViridis } from 'd3-scale-chromatic';

/** Okabe–Ito, without black (kept for text) and with yellow last (weak on white). */
export const OKABE_ITO = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'] as const;

export function categorical(i: number): string {
  return OKABE_ITO[((i % OKABE_ITO.length) + OKABE_ITO.length) % OKABE_ITO.length] as string;
}

export type ColorScheme = 'viridis' | 'cividis' | 'diverging';

/** t ∈ [0, 1] → colour; diverging runs blue (t = 0) through white (0.5) to red (1). */
export function interpolator(scheme: ColorScheme): (t: number) => string {
  if (scheme === 'viridis') return interpolateViridis;
  if (scheme === 'cividis') return interpolateCividis;
  return (t) => interpolateRdBu(1 - t);
}

/** Black or white, whichever reads better on `color` (relative luminance, WCAG). */
export function textColorOn(color: string): string {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color) ?? /^rgb\((\d+),\s*(\d+),\s*(\d+)\)$/.exec(color);
  if (!m) return '#000';
  const hex = color.startsWith('#') || /^[0-9a-f]{6}$/i.test(color);
  const ch = [m[1], m[2], m[3]].map((v) => (hex ? parseInt(v as string, 16) : Number(v)) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  const lum = 0.2126 * (ch[0] as number) + 0.7152 * (ch[1] as number) + 0.0722 * (ch[2] as number);
  return lum > 0.32 ? '#000' : '#fff';
}
