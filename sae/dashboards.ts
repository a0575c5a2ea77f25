// Feature dashboard data for the report's feature cards: per chosen latent its density,
// activation histogram, top activating contexts (token windows with the token marked) and
// most correlated label values, all from the held-out tokens.
import type { EvalSet } from './activations.ts';
import { type LabelCorrelations, topLabelsOf } from './label-match.ts';
import type { FeatureCard, FeatureContext } from './results-schema.ts';
import type { SparseCodes } from './sparse-codes.ts';

export const DASHBOARD_DEFAULTS = {
  features: 64, // enough cards for a report section; the JSON stays ~200 KB per SAE
  contexts: 8, // top activating examples per feature
  before: 12, // tokens of context before the activating one
  after: 4, // and after it
  bins: 16, // histogram bins over (0, max activation]
  labels: 5, // label values shown per feature
};

export interface DashboardOptions {
  features: number;
  contexts: number;
  before: number;
  after: number;
  bins: number;
  labels: number;
}

/** Chosen latents: `first` (e.g. planted-label matches) then the densest live ones, up to `max`. */
export function chooseFeatures(density: Float64Array, first: number[], max: number): number[] {
  const chosen = [...new Set(first.filter((i) => (density[i] as number) > 0))].slice(0, max);
  const rest = [...density.keys()].filter((i) => (density[i] as number) > 0 && !chosen.includes(i)).sort((a, b) => (density[b] as number) - (density[a] as number));
  return [...chosen, ...rest].slice(0, max);
}

export function featureCards(
  codes: SparseCodes,
  density: Float64Array,
  features: number[],
  ev: EvalSet,
  tokenText: (id: number) => string,
  corr: LabelCorrelations | null,
  o: DashboardOptions,
  shares?: (latent: number) => { shares: number[]; top: number },
): FeatureCard[] {
  const slot = new Map(features.map((f, j) => [f, j]));
  const acts = features.map(() => [] as { a: number; r: number }[]);
  for (let r = 0; r < codes.rows; r++) {
    for (let q = codes.rowPtr[r] as number; q < (codes.rowPtr[r + 1] as number); q++) {
      const j = slot.get(codes.idx[q] as number);
      if (j !== undefined) (acts[j] as { a: number; r: number }[]).push({ a: codes.val[q] as number, r });
    }
  }
  return features.map((latent, j) => {
    const list = acts[j] as { a: number; r: number }[];
    let max = 0;
    let sum = 0;
    for (const { a } of list) {
      max = Math.max(max, a);
      sum += a;
    }
    const histogram = new Array<number>(o.bins).fill(0);
    for (const { a } of list) {
      const b = Math.min(o.bins - 1, Math.floor((a / max) * o.bins));
      histogram[b] = (histogram[b] as number) + 1;
    }
    const top = [...list].sort((x, y) => y.a - x.a).slice(0, o.contexts);
    const card: FeatureCard = {
      latent,
      density: density[latent] as number,
      mean_activation: list.length > 0 ? sum / list.length : 0,
      max_activation: max,
      histogram,
      contexts: top.map(({ a, r }) => context(ev, r, a, o, tokenText)),
      labels: corr ? topLabelsOf(corr, latent, o.labels) : [],
    };
    if (shares) {
      const s = shares(latent);
      card.stream_shares = s.shares;
      card.top_stream = s.top;
    }
    return card;
  });
}

function context(ev: EvalSet, r: number, a: number, o: DashboardOptions, tokenText: (id: number) => string): FeatureContext {
  const pos = ev.pos[r] as number;
  const start = r - Math.min(pos, o.before);
  const end = Math.min(r + o.after, r - pos + ev.seqLen - 1);
  const tokens = Array.from(ev.token.subarray(start, end + 1));
  return { activation: a, seq: ev.seq[r] as number, pos, tokens, text: tokens.map(tokenText), mark: r - start };
}
