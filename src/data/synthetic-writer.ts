// The generator of the synthetic language: writes documents of the grammar in synthetic.ts
// into growing typed arrays, labelling each token as it is written.
import type { Rng } from '../engine/random.ts';
import { GRAMMAR, PLURAL, SINGULAR } from './synthetic-grammar.ts';

const TOPIC_STAY = 0.85; // a word comes from the document's topic; otherwise any topic
const THE = 0.4; // "the" carries no number, so the noun alone must decide agreement
const REL_AT_DEPTH = [0.3, 0.2, 0.12, 0]; // keeps depth ≤ 3 and depth 3 rare but present
const SECOND_CLAUSE = 0.2;
const PP_BEFORE_VERB = 0.4; // the attractor between subject and verb
const PP_AFTER_VERB = 0.3;
const OBJECT = 0.7;
const REL_OBJECT = 0.75;
const ADJ_MORE = 0.35; // geometric number of adjectives, capped at 3
const SHARED_ADJ = 0.5;
const COPY = 0.12; // ≈ 14% of tokens end up in copy blocks

const LABELS = ['topic', 'pos', 'number', 'pending_number', 'depth', 'parity', 'copy'] as const;
type LabelName = (typeof LABELS)[number];

function columns(make: (name: LabelName) => Int32Array): Record<LabelName, Int32Array> {
  return Object.fromEntries(LABELS.map((name) => [name, make(name)])) as Record<LabelName, Int32Array>;
}

/** Weights 1/(r+1), cumulated and normalised: a Zipf-like choice within a word list. */
function zipf(n: number): Float64Array {
  const c = new Float64Array(n);
  let s = 0;
  for (let r = 0; r < n; r++) c[r] = s += 1 / (r + 1);
  return c.map((x) => x / s);
}

export class SyntheticWriter {
  tokens: Int32Array;
  length = 0;
  readonly docStarts: number[] = [];
  private col: Record<LabelName, Int32Array>;
  private readonly cum = new Map<number, Float64Array>();
  private topic = 0;
  private docStart = 0;
  private depth = 0;
  /** Numbers of the verbs owed, innermost last. */
  private readonly pending: (typeof SINGULAR | typeof PLURAL)[] = [];

  constructor(
    private readonly rng: Rng,
    capacity: number,
  ) {
    this.tokens = new Int32Array(capacity);
    this.col = columns(() => new Int32Array(capacity));
  }

  label(name: string): Int32Array {
    if (!(LABELS as readonly string[]).includes(name)) throw new Error(`no synthetic label ${name}`);
    return this.col[name as LabelName];
  }

  document(): void {
    const r = this.rng;
    this.topic = r.int(GRAMMAR.topics.length);
    this.docStart = this.length;
    this.docStarts.push(this.length);
    this.emit(GRAMMAR.doc);
    this.col.topic[this.length - 1] = -1; // nothing yet says which topic follows
    const sentences: [number, number][] = [];
    const n = 4 + r.int(17);
    for (let k = 0; k < n; k++) {
      const start = this.length;
      this.sentence();
      sentences.push([start, this.length]);
      if (sentences.length >= 2 && r.next() < COPY) this.repeat(sentences);
    }
  }

  private sentence(): void {
    this.clause();
    if (this.rng.next() < SECOND_CLAUSE) {
      this.emit(GRAMMAR.comma);
      this.emit(GRAMMAR.and);
      this.clause();
    }
    this.emit(GRAMMAR.period);
  }

  private clause(): void {
    const r = this.rng;
    this.nounPhrase(true);
    if (r.next() < PP_BEFORE_VERB) this.prepPhrase();
    this.verb();
    if (r.next() < OBJECT) this.nounPhrase(false);
    if (r.next() < PP_AFTER_VERB) this.prepPhrase();
  }

  private nounPhrase(subject: boolean): void {
    const r = this.rng;
    const num = r.next() < 0.5 ? SINGULAR : PLURAL;
    const dets = GRAMMAR.dets[num];
    this.emit(r.next() < THE ? GRAMMAR.the : this.pick(dets, dets.length));
    for (let k = 0; k < 3 && r.next() < ADJ_MORE; k++) this.emit(this.adjective());
    const lemma = this.topical((t) => GRAMMAR.topics[t]?.nouns);
    if (subject) this.pending.push(num);
    this.emit(lemma[num]);
    if (r.next() < (REL_AT_DEPTH[this.depth] ?? 0)) this.relative(num);
  }

  private relative(head: typeof SINGULAR | typeof PLURAL): void {
    this.pending.push(head);
    this.emit(GRAMMAR.open);
    this.emit(GRAMMAR.that);
    this.verb();
    if (this.rng.next() < REL_OBJECT) this.nounPhrase(false);
    this.emit(GRAMMAR.close);
  }

  private prepPhrase(): void {
    this.emit(this.pick(GRAMMAR.preps, GRAMMAR.preps.length));
    this.nounPhrase(false);
  }

  /** The verb owed to the innermost pending subject, which it then discharges. */
  private verb(): void {
    const num = this.pending.pop();
    if (num === undefined) throw new Error('synthetic grammar: a verb with no subject');
    this.emit(this.topical((t) => GRAMMAR.topics[t]?.verbs)[num]);
  }

  private adjective(): number {
    if (this.rng.next() < SHARED_ADJ) return this.pick(GRAMMAR.sharedAdjs, GRAMMAR.sharedAdjs.length);
    const topic = this.rng.next() < TOPIC_STAY ? this.topic : this.rng.int(GRAMMAR.topics.length);
    const adjs = GRAMMAR.topics[topic]?.adjs ?? [];
    return this.pick(adjs, adjs.length);
  }

  /** A [singular, plural] lemma from the document's topic (or, rarely, any topic). */
  private topical(list: (topic: number) => [number, number][] | undefined): [number, number] {
    const topic = this.rng.next() < TOPIC_STAY ? this.topic : this.rng.int(GRAMMAR.topics.length);
    const lemmas = list(topic) ?? [];
    return this.pick(lemmas, lemmas.length);
  }

  private pick<T>(items: readonly T[], n: number): T {
    let c = this.cum.get(n);
    if (!c) {
      c = zipf(n);
      this.cum.set(n, c);
    }
    const u = this.rng.next();
    let i = 0;
    while (i < n - 1 && (c[i] ?? 1) <= u) i++;
    const item = items[i];
    if (item === undefined) throw new Error('synthetic grammar: empty word list');
    return item;
  }

  /** Repeats 1–2 consecutive earlier sentences verbatim, labels and all. */
  private repeat(sentences: readonly [number, number][]): void {
    const k = Math.min(sentences.length, 1 + this.rng.int(2));
    const j = this.rng.int(sentences.length - k + 1);
    const from = sentences[j]?.[0] ?? 0;
    const to = sentences[j + k - 1]?.[1] ?? 0;
    const at = this.length;
    this.reserve(to - from);
    this.tokens.copyWithin(at, from, to);
    for (const name of LABELS) this.col[name].copyWithin(at, from, to);
    this.length += to - from;
    const { parity, copy } = this.col;
    for (let i = at; i < this.length; i++) {
      parity[i] = (i - this.docStart) & 1;
      copy[i] = i > at ? 1 : 0;
    }
  }

  private emit(id: number): void {
    this.reserve(1);
    const i = this.length++;
    this.tokens[i] = id;
    if (id === GRAMMAR.open) this.depth++;
    else if (id === GRAMMAR.close) this.depth--;
    const c = this.col;
    c.topic[i] = this.topic;
    c.pos[i] = GRAMMAR.pos[id] ?? -1;
    c.number[i] = GRAMMAR.number[id] ?? -1;
    c.pending_number[i] = this.pending[this.pending.length - 1] ?? -1;
    c.depth[i] = this.depth;
    c.parity[i] = (i - this.docStart) & 1;
    c.copy[i] = 0;
  }

  private reserve(n: number): void {
    if (this.length + n <= this.tokens.length) return;
    const cap = Math.max(2 * this.tokens.length, this.length + n);
    const grow = (a: Int32Array): Int32Array => {
      const b = new Int32Array(cap);
      b.set(a.subarray(0, this.length));
      return b;
    };
    this.tokens = grow(this.tokens);
    const old = this.col;
    this.col = columns((name) => grow(old[name]));
  }
}
