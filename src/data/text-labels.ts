// Automatic labels for any text (README, Corpora), computed from the bytes each token stands for,
// so that they work for byte-level and BPE tokens alike.
import type { LabelSpec } from './split.ts';

/**
 * char_class      class of the token's first non-space character (of its first character
 *                 if it is all whitespace); a byte inside a multi-byte character takes
 *                 the class of that character; combining marks count as letters
 * capitalised     that character is an upper- or title-case letter; −1 if not a letter
 * in_quotes       inside "…", “…” or «…» after the token (a straight quote toggles)
 * in_brackets     inside (…), […] or {…} after the token
 * word_position   index of the token within its word (letters, digits, marks), capped at
 *                 3; −1 for a token whose first non-space character is not a word character
 * Quote and bracket state is reset at each document and at each blank line, so that one
 * stray quote cannot label the rest of a file.
 */
export const TEXT_LABELS: LabelSpec[] = [
  { name: 'char_class', values: ['letter', 'digit', 'space', 'punct', 'other'] },
  { name: 'capitalised', values: ['no', 'yes'] },
  { name: 'in_quotes', values: ['no', 'yes'] },
  { name: 'in_brackets', values: ['no', 'yes'] },
  { name: 'word_position', values: ['0', '1', '2', '3+'] },
];

const LETTER = 0;
const DIGIT = 1;
const SPACE = 2;
const PUNCT = 3;
const OTHER = 4;

const classCache = new Map<number, number>();

/** Class of a code point (−1 = an invalid byte), and whether it is an upper-case letter. */
function classify(cp: number): { cls: number; upper: boolean } {
  if (cp < 0) return { cls: OTHER, upper: false };
  if (cp < 0x80) {
    if ((cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a)) return { cls: LETTER, upper: cp <= 0x5a };
    if (cp >= 0x30 && cp <= 0x39) return { cls: DIGIT, upper: false };
    if (cp === 0x20 || (cp >= 0x09 && cp <= 0x0d)) return { cls: SPACE, upper: false };
    return { cls: /\p{P}/u.test(String.fromCharCode(cp)) ? PUNCT : OTHER, upper: false };
  }
  let code = classCache.get(cp);
  if (code === undefined) {
    const c = String.fromCodePoint(cp);
    const cls = /[\p{L}\p{M}]/u.test(c) ? LETTER : /\p{N}/u.test(c) ? DIGIT : /\s/u.test(c) ? SPACE : /\p{P}/u.test(c) ? PUNCT : OTHER;
    code = cls * 2 + (/[\p{Lu}\p{Lt}]/u.test(c) ? 1 : 0);
    classCache.set(cp, code);
  }
  return { cls: code >> 1, upper: (code & 1) === 1 };
}

/** One code point at byte i: its value (−1 if the bytes there are not UTF-8) and length. */
function codePointAt(bytes: Uint8Array, i: number): [number, number] {
  const b = bytes[i] ?? 0;
  const len = b < 0x80 ? 1 : (b & 0xe0) === 0xc0 ? 2 : (b & 0xf0) === 0xe0 ? 3 : (b & 0xf8) === 0xf0 ? 4 : 0;
  if (len === 0 || i + len > bytes.length) return [-1, 1];
  let cp = len === 1 ? b : b & (0x7f >> len);
  for (let k = 1; k < len; k++) {
    const c = bytes[i + k] ?? 0;
    if ((c & 0xc0) !== 0x80) return [-1, 1];
    cp = (cp << 6) | (c & 0x3f);
  }
  return [cp, len];
}

/**
 * The automatic labels of one document's tokens. `tokenBytes` gives each token's bytes;
 * a token without bytes (a special token such as <|endoftext|>) gets −1 everywhere.
 */
export function textLabels(
  ids: ArrayLike<number>,
  tokenBytes: (id: number) => Uint8Array | undefined,
): Map<string, Int32Array> {
  const n = ids.length;
  const tokStart = new Int32Array(n + 1);
  for (let t = 0; t < n; t++) tokStart[t + 1] = (tokStart[t] ?? 0) + (tokenBytes(ids[t] ?? -1)?.length ?? 0);
  const nBytes = tokStart[n] ?? 0;
  const bytes = new Uint8Array(nBytes);
  for (let t = 0; t < n; t++) {
    const b = tokenBytes(ids[t] ?? -1);
    if (b) bytes.set(b, tokStart[t] ?? 0);
  }

  // Per character, in byte order: where it starts, its class, and the state after it.
  const byteToChar = new Int32Array(nBytes);
  const charStart = new Int32Array(nBytes);
  const cls = new Int8Array(nBytes);
  const upper = new Uint8Array(nBytes);
  const quoted = new Uint8Array(nBytes);
  const bracketed = new Uint8Array(nBytes);
  let nChars = 0;
  let quote = 0;
  let depth = 0;
  let lastNewline = false;
  for (let i = 0; i < nBytes; ) {
    const [cp, len] = codePointAt(bytes, i);
    const c = classify(cp);
    if (cp === 0x22) quote = 1 - quote;
    else if (cp === 0x201c || cp === 0xab) quote = 1;
    else if (cp === 0x201d || cp === 0xbb) quote = 0;
    else if (cp === 0x28 || cp === 0x5b || cp === 0x7b) depth++;
    else if ((cp === 0x29 || cp === 0x5d || cp === 0x7d) && depth > 0) depth--;
    if (cp === 0x0a) {
      if (lastNewline) quote = depth = 0;
      lastNewline = true;
    } else if (cp !== 0x0d) lastNewline = false;
    charStart[nChars] = i;
    cls[nChars] = c.cls;
    upper[nChars] = c.upper ? 1 : 0;
    quoted[nChars] = quote;
    bracketed[nChars] = depth > 0 ? 1 : 0;
    byteToChar.fill(nChars, i, i + len);
    nChars++;
    i += len;
  }
  const isWord = (ch: number): boolean => ch >= 0 && ch < nChars && (cls[ch] === LETTER || cls[ch] === DIGIT);

  const out = TEXT_LABELS.map(() => new Int32Array(n).fill(-1));
  const [charClass, capitalised, inQuotes, inBrackets, wordPos] = out as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array];
  let prevPos = -1;
  for (let t = 0; t < n; t++) {
    const b0 = tokStart[t] ?? 0;
    const b1 = tokStart[t + 1] ?? 0;
    if (b1 === b0) {
      prevPos = -1;
      continue;
    }
    const first = byteToChar[b0] ?? 0;
    const last = byteToChar[b1 - 1] ?? 0;
    let anchor = first;
    while (anchor < last && cls[anchor] === SPACE) anchor++;
    if (cls[anchor] === SPACE) anchor = first;
    const k = cls[anchor] ?? OTHER;
    charClass[t] = k;
    capitalised[t] = k === LETTER ? (upper[anchor] ?? 0) : -1;
    inQuotes[t] = quoted[last] ?? 0;
    inBrackets[t] = bracketed[last] ?? 0;
    if (isWord(anchor)) {
      const starts = (charStart[anchor] ?? 0) >= b0 && !isWord(anchor - 1);
      wordPos[t] = starts ? 0 : prevPos >= 0 ? Math.min(3, prevPos + 1) : 1;
    }
    prevPos = wordPos[t] ?? -1;
  }
  return new Map(TEXT_LABELS.map((spec, i) => [spec.name, out[i] ?? new Int32Array(n)]));
}
