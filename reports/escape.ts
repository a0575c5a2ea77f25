// The one escape for every string that reaches HTML or SVG, from a corpus or anywhere else:
// text and attribute values alike, so a token such as `"><img onerror=…>` stays text.

// XML 1.0 allows tab, LF, CR and U+0020 upwards less surrogates, U+FFFE and U+FFFF; a
// byte-level corpus can hold the rest, which would make an SVG file unparseable.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching the control characters XML forbids is the point
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes `& < > " '` and replaces characters that XML cannot hold with U+FFFD. */
export function escapeXml(value: unknown): string {
  return String(value)
    .replace(INVALID_XML, '\uFFFD')
    .replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
}
