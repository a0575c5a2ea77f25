// "Where the output comes from": the direct logit attribution per source × final stream and per
// stream (probes/direct-logit-attribution.ts), and the sequential/parallel arrangement of the
// modules read off the unfolded connection matrix (probes/layer-arrangement.ts).
import { format } from 'd3-format';
import type { DiagnosticsResult } from '../probes/results-schema.ts';
import { escapeXml } from './escape.ts';
import type { Figure } from './figure.ts';
import { barChart } from './figures/bar-chart.ts';
import { heatmap } from './figures/heatmap.ts';
import { tableHtml } from './html-page.ts';

const f3 = format('.3f');

/** "0.attn" → "L0 attn"; "embed" stays. */
const sourceLabel = (s: string) => (s === 'embed' ? 'embed' : `L${s.replace('.', ' ')}`);

const baselineWords = (d: DiagnosticsResult) =>
  d.causal?.direct_logit_attribution?.baseline === 'none' ? "the correct token's logit" : "the correct token's logit minus the mean logit over the vocabulary";

export function dlaHeatmap(d: DiagnosticsResult): Figure | undefined {
  const a = d.causal?.direct_logit_attribution;
  if (!a) return undefined;
  const id = 'diag-dla-matrix';
  return {
    id,
    svg: heatmap({ id, title: 'Direct logit attribution: source × final stream', xLabel: 'final stream', yLabel: 'source', rows: a.sources.map(sourceLabel), cols: (a.matrix[0] ?? []).map((_, i) => `stream ${i}`), values: a.matrix, scheme: 'diverging', center: 0, valueLabel: 'logit (mean over tokens)', annotate: true, width: 460 }),
    caption:
      `How much of ${baselineWords(d)} each source carries through each final stream, averaged over ${a.tokens} validation tokens: ` +
      "the source's output (B_k ⊗ T_k(x), or the embedding) carried by the later mixings into stream i, through ln_f with the token's own scale frozen. " +
      `The cells sum to ${f3(a.logit - a.ln_bias)} = the model's ${f3(a.logit)} minus ln_f's bias part ${f3(a.ln_bias)} (largest per-token error ${a.max_abs_error.toExponential(1)}).`,
  };
}

export function dlaPerStream(d: DiagnosticsResult): Figure | undefined {
  const a = d.causal?.direct_logit_attribution;
  if (!a) return undefined;
  const id = 'diag-dla-streams';
  return {
    id,
    svg: barChart({ id, title: 'Direct logit attribution per final stream', xLabel: 'final stream', yLabel: 'logit (mean over tokens)', categories: a.per_stream.map((_, i) => `stream ${i}`), values: a.per_stream }),
    caption: `The logit each final stream delivers (a column sum of the matrix above): which stream the output comes from. A stream near zero adds little to ${baselineWords(d)} on average: either it carries little that the readout turns into it, or its per-token pieces cancel over tokens (a mean, not a magnitude).`,
  };
}

/** The arrangement's sentences and one table row per adjacent pair; '' without an unfolded matrix. */
export function arrangementHtml(d: DiagnosticsResult): string {
  const a = d.layer_arrangement;
  if (!a) return '';
  const sentences = a.sentences.map((s) => `<p>${escapeXml(s)}</p>`).join('');
  const table = tableHtml(
    ['module k → module k+1', 'weight c_{k+1,k}', 'share of k+1\'s input', 'relative to the row mean', 'arrangement'],
    a.pairs.map((p) => [`${sourceLabel(p.writer)} → ${sourceLabel(p.reader)}`, f3(p.weight), f3(p.share), f3(p.relative), p.arrangement]),
  );
  const intro = `<p>${escapeXml(`Layer arrangement (HC paper, visualization): read from the unfolded connection matrix above. A pair runs in parallel when the later module reads the earlier one's output with under ${a.threshold} of its row's mean weight (a plain residual network has every weight 1, so every pair there is sequential).`)}</p>`;
  return `${intro}${sentences}${table}`;
}

/** The attribution figures to add to the diagnostics section (none when not measured). */
export function attributionFigures(d: DiagnosticsResult): Figure[] {
  return [dlaHeatmap(d), dlaPerStream(d)].filter((f): f is Figure => f !== undefined);
}
