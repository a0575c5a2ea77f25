// A small XML well-formedness check for the SVG strings the reports draw: tags nest and
// close, attributes are quoted and unique, entities are known, no raw '<' or '&' in text.

const NAME = '[A-Za-z_:][-A-Za-z0-9_:.]*';
const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/y;

export function checkXml(xml: string): void {
  const stack: string[] = [];
  let i = 0;
  let roots = 0;
  const fail = (msg: string): never => {
    throw new Error(`${msg} at offset ${i}: ${JSON.stringify(xml.slice(Math.max(0, i - 40), i + 40))}`);
  };
  const checkText = (s: string, at: number) => {
    for (let k = 0; k < s.length; k++) {
      if (s[k] === '<') fail(`raw '<' in text (offset ${at + k})`);
      if (s[k] === '&') {
        ENTITY.lastIndex = k;
        if (!ENTITY.test(s)) fail(`bad entity in text (offset ${at + k})`);
      }
    }
  };
  if (xml.startsWith('<?xml')) i = xml.indexOf('?>') + 2;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const textEnd = lt < 0 ? xml.length : lt;
    const txt = xml.slice(i, textEnd);
    if (stack.length === 0 && txt.trim() !== '') fail('text outside the root element');
    checkText(txt, i);
    if (lt < 0) break;
    i = lt;
    if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i);
      if (end < 0) fail('unclosed comment');
      i = end + 3;
      continue;
    }
    const gt = xml.indexOf('>', i);
    if (gt < 0) fail('unclosed tag');
    const tag = xml.slice(i + 1, gt);
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      if (stack.pop() !== name) fail(`mismatched </${name}>`);
    } else {
      const selfClose = tag.endsWith('/');
      const body = selfClose ? tag.slice(0, -1) : tag;
      const m = new RegExp(`^(${NAME})((?:\\s+${NAME}\\s*=\\s*"[^"<]*")*)\\s*$`).exec(body);
      if (!m) fail(`malformed tag <${tag}>`);
      const names = [...(m?.[2] ?? '').matchAll(new RegExp(`(${NAME})\\s*=\\s*"([^"]*)"`, 'g'))];
      const seen = new Set<string>();
      for (const [, n, v] of names) {
        if (seen.has(n as string)) fail(`duplicate attribute ${n}`);
        seen.add(n as string);
        checkText(v as string, i);
      }
      if (stack.length === 0) roots++;
      if (!selfClose) stack.push(m?.[1] as string);
    }
    i = gt + 1;
  }
  if (stack.length) fail(`unclosed <${stack.join('> <')}>`);
  if (roots !== 1) fail(`expected one root element, got ${roots}`);
}

/** Count of `<tag` openings (elements of that name). */
export function countTags(xml: string, tag: string): number {
  return xml.match(new RegExp(`<${tag}[\\s/>]`, 'g'))?.length ?? 0;
}

/** The text content of every <text> and <title> element, unescaped. */
export function texts(xml: string): string[] {
  return [...xml.matchAll(/<(?:text|title)\b[^>]*>([^<]*)<\/(?:text|title)>/g)].map((m) => unescapeXml(m[1] as string));
}

export function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}
