// The vocabulary of the synthetic language (grammar documented in synthetic.ts): 194
// single-token words, each with its part of speech and, for nouns, verbs and some
// determiners, its grammatical number.

export const TOPICS = ['animals', 'food', 'city', 'sea'] as const;
export const POS = ['sep', 'det', 'noun', 'verb', 'adj', 'prep', 'conj', 'punct', 'bracket'] as const;
export type Pos = (typeof POS)[number];
/** Number ids in the `number` and `pending_number` labels. */
export const SINGULAR = 0;
export const PLURAL = 1;

/** Topic word lists: nouns and verbs as [singular, plural] forms (verbs: "chases"/"chase"). */
const TOPIC_WORDS: Record<(typeof TOPICS)[number], { nouns: string; verbs: string; adjs: string }> = {
  animals: {
    nouns: 'cat:cats dog:dogs bird:birds fox:foxes horse:horses mouse:mice wolf:wolves rabbit:rabbits goat:goats cow:cows owl:owls frog:frogs',
    verbs: 'chases:chase bites:bite hunts:hunt watches:watch follows:follow scares:scare',
    adjs: 'wild furry hungry tame quick sleepy',
  },
  food: {
    nouns: 'apple:apples loaf:loaves cake:cakes soup:soups cheese:cheeses pie:pies lemon:lemons egg:eggs pear:pears bean:beans plum:plums carrot:carrots',
    verbs: 'cooks:cook tastes:taste bakes:bake slices:slice eats:eat serves:serve',
    adjs: 'sweet fresh salty ripe sour crisp',
  },
  city: {
    nouns: 'car:cars bus:buses street:streets tower:towers bridge:bridges train:trains shop:shops road:roads park:parks house:houses lamp:lamps door:doors',
    verbs: 'builds:build paints:paint crosses:cross blocks:block opens:open passes:pass',
    adjs: 'busy tall noisy narrow bright empty',
  },
  sea: {
    nouns: 'ship:ships wave:waves boat:boats shell:shells whale:whales crab:crabs reef:reefs sail:sails anchor:anchors island:islands shark:sharks net:nets',
    verbs: 'floats:float sinks:sink drifts:drift carries:carry pulls:pull tows:tow',
    adjs: 'deep blue calm stormy wet cold',
  },
};

export interface TopicIds {
  /** [singular id, plural id] per noun lemma. */
  nouns: [number, number][];
  /** [singular id, plural id] per verb lemma: "chases" agrees with a singular subject. */
  verbs: [number, number][];
  adjs: number[];
}

export interface Grammar {
  /** id → word; the tokenizer's vocabulary. */
  words: string[];
  /** id → index into POS. */
  pos: Int8Array;
  /** id → SINGULAR, PLURAL, or −1 for words without number. */
  number: Int8Array;
  doc: number;
  period: number;
  comma: number;
  open: number;
  close: number;
  that: number;
  and: number;
  the: number;
  /** Number-marked determiners, indexed by SINGULAR / PLURAL. */
  dets: [number[], number[]];
  preps: number[];
  sharedAdjs: number[];
  topics: TopicIds[];
}

function build(): Grammar {
  const words: string[] = [];
  const pos: number[] = [];
  const num: number[] = [];
  const add = (word: string, p: Pos, n = -1): number => {
    if (words.includes(word)) throw new Error(`synthetic vocabulary repeats ${word}`);
    words.push(word);
    pos.push(POS.indexOf(p));
    num.push(n);
    return words.length - 1;
  };
  const doc = add('<doc>', 'sep');
  const period = add('.', 'punct');
  const comma = add(',', 'punct');
  const open = add('(', 'bracket');
  const close = add(')', 'bracket');
  const that = add('that', 'conj');
  const and = add('and', 'conj');
  const the = add('the', 'det');
  const dets: [number[], number[]] = [
    ['a', 'this', 'every'].map((w) => add(w, 'det', SINGULAR)),
    ['these', 'some', 'many'].map((w) => add(w, 'det', PLURAL)),
  ];
  const preps = ['in', 'on', 'near', 'with', 'under', 'behind'].map((w) => add(w, 'prep'));
  const sharedAdjs = ['big', 'small', 'old', 'new', 'good', 'strange'].map((w) => add(w, 'adj'));
  const pairs = (list: string, p: Pos): [number, number][] =>
    list.split(' ').map((pair) => {
      const [sg = '', pl = ''] = pair.split(':');
      return [add(sg, p, SINGULAR), add(pl, p, PLURAL)];
    });
  const topics = TOPICS.map((t) => {
    const w = TOPIC_WORDS[t];
    return {
      nouns: pairs(w.nouns, 'noun'),
      verbs: pairs(w.verbs, 'verb'),
      adjs: w.adjs.split(' ').map((a) => add(a, 'adj')),
    };
  });
  return {
    words,
    pos: Int8Array.from(pos),
    number: Int8Array.from(num),
    doc,
    period,
    comma,
    open,
    close,
    that,
    and,
    the,
    dets,
    preps,
    sharedAdjs,
    topics,
  };
}

export const GRAMMAR: Grammar = build();
