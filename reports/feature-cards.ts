// Feature cards: per SAE latent its density, activation histogram, stream shares (concat),
// most correlated label values and top activating contexts, the activating token marked.
// Every token is corpus text: each goes through escapeXml and nothing else.
import { format } from 'd3-format';
import type { FeatureCard, FeatureDashboards } from '../sae/results-schema.ts';
import { escapeXml } from './escape.ts';
import { categorical } from './palette.ts';
import { el, tip } from './svg.ts';

const pct = format('.2%');
const f2 = format('.2f');

/** A 160×36 bar sketch of the activation histogram (counts per bin over (0, max]). */
function sparkHistogram(card: FeatureCard): string {
  const w = 160;
  const h = 36;
  const n = card.histogram.length || 1;
  const max = Math.max(1, ...card.histogram);
  const bars = card.histogram.map((c, i) => el('rect', { x: (i * w) / n + 0.5, y: h - (c / max) * h, width: w / n - 1, height: (c / max) * h, fill: '#0072B2' }, tip(`bin ${i + 1}/${n}: ${c}`))).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" class="spark" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="activation histogram"><rect width="${w}" height="${h}" fill="#f4f4f4"/>${bars}</svg>`;
}

/** Stream shares as one stacked 160×12 bar (concat SAEs). */
function shareBar(shares: readonly number[]): string {
  let x = 0;
  const parts = shares.map((s, i) => {
    const r = el('rect', { x, y: 0, width: s * 160, height: 12, fill: categorical(i) }, tip(`stream ${i}: ${pct(s)}`));
    x += s * 160;
    return r;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" class="spark" width="160" height="12" viewBox="0 0 160 12" role="img" aria-label="stream shares">${parts.join('')}</svg>`;
}

/**
 * One context window: tokens as text, the activating one in <mark>. Byte and BPE tokens carry
 * their own spaces; word-level tokens (the synthetic corpus) carry none and get one between them.
 */
export function contextHtml(tokens: readonly string[], mark: number): string {
  const sep = tokens.some((t) => /\s/.test(t)) ? '' : ' ';
  return tokens.map((t, i) => (i === mark ? `<mark>${escapeXml(t)}</mark>` : escapeXml(t))).join(sep);
}

export function featureCardHtml(card: FeatureCard, where: string): string {
  const labels = card.labels.length ? `<div class="meta">labels: ${card.labels.map((l) => escapeXml(`${l.label}=${l.value} (r ${f2(l.corr)})`)).join(', ')}</div>` : '';
  const shares = card.stream_shares ? `<div class="meta">stream shares (top: stream ${escapeXml(card.top_stream ?? '?')}) ${shareBar(card.stream_shares)}</div>` : '';
  const contexts = card.contexts.map((c) => `<div class="ctx" title="${escapeXml(`activation ${f2(c.activation)} · sequence ${c.seq}, position ${c.pos}`)}">${contextHtml(c.text, c.mark)}</div>`).join('');
  return `<div class="card"><h4>${escapeXml(`${where} · latent ${card.latent}`)}</h4><div class="meta">${escapeXml(`density ${pct(card.density)} · mean ${f2(card.mean_activation)} · max ${f2(card.max_activation)}`)}</div>${sparkHistogram(card)}${shares}${labels}${contexts}</div>`;
}

/** Cards of the first `max(d)` features of each dashboard file. */
export function featureCardsHtml(dashboards: readonly FeatureDashboards[], max: (d: FeatureDashboards) => number = () => 8): string {
  const cards = dashboards.flatMap((d) => d.features.slice(0, max(d)).map((f) => featureCardHtml(f, `${d.mode} L${d.layer}${d.stream === null ? '' : ` stream ${d.stream}`}`)));
  return cards.length ? `<div class="cards">${cards.join('')}</div>` : '';
}
