// A drawn figure: its SVG, the caption printed under it, and the id that names its file.

export interface Figure {
  /** File name stem and element id: [a-z0-9-]. */
  id: string;
  svg: string;
  caption: string;
}

/** Lower-case letters, digits and dashes only: safe as a file name and an HTML id. */
export function figureId(...parts: (string | number)[]): string {
  return parts.map((p) => String(p).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')).filter((p) => p !== '').join('-') || 'figure';
}
