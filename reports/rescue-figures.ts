// Ablate and rescue (causal.ablate_rescue of diagnostics.json, probes/ablate-rescue.ts): per layer,
// the loss change of zeroing each pair of streams and the rescue matrix (zero stream i, copy
// stream j's clean content into its slot), with a sentence per layer that reads them.
import { format } from 'd3-format';
import type { AblateRescue } from '../probes/results-schema.ts';
import { escapeXml } from './escape.ts';
import { type Figure, figureId } from './figure.ts';
import { heatmap } from './figures/heatmap.ts';

const f2 = format('.2f');
const f3 = format('.3f');
const pct = format('.0%');

/** Zeroing a stream costs less than this (nats): the model does not need it there. */
export const NEEDED_DELTA = 0.01;
/** Best rescued fraction at or above which another stream stands in; at or below which none does. */
export const STANDS_IN = 0.8;
export const NO_RESCUE = 0.2;

const streams = (n: number) => Array.from({ length: n }, (_, i) => `stream ${i}`);

/** Δ CE of zeroing streams i and j together at every layer; the diagonal is stream i alone. */
export function pairAblationHeatmap(r: AblateRescue, l: number): Figure {
  const m = r.pair_ablation[l] ?? [];
  const id = figureId('diag-pair-ablation', `l${l}`);
  return {
    id,
    svg: heatmap({ id, title: `L${l}: zeroing two streams, Δ validation loss`, xLabel: 'with stream j zeroed', yLabel: 'zeroed stream i', rows: streams(m.length), cols: streams(m.length), values: m, scheme: 'diverging', center: 0, valueLabel: 'Δ loss (nats)', annotate: true, width: 440 }),
    caption: `Change in validation loss (base ${f3(r.loss)} nats, ${r.tokens} tokens) when streams i and j are both zeroed at the output of layer ${l}; the diagonal is stream i zeroed alone. Read a cell against its two diagonals: a pair that costs far more than its two streams alone holds streams that cover for each other (redundancy); a pair that costs what its two diagonals add up to holds streams that do separate work.`,
  };
}

/** Rescued fraction 1 − Δ_rescue/Δ_ablate: rows the zeroed stream, columns the stream copied into its slot. */
export function rescueHeatmap(r: AblateRescue, l: number): Figure {
  const m = r.rescued_fraction[l] ?? [];
  const id = figureId('diag-rescue', `l${l}`);
  const dom = r.dominant[l];
  return {
    id,
    svg: heatmap({
      id, title: `L${l}: can stream j stand in for stream i?`, xLabel: 'stream j copied into the slot', yLabel: 'zeroed stream i', rows: streams(m.length), cols: streams(m.length), values: m,
      scheme: 'viridis', domain: [0, 1], valueLabel: 'rescued fraction', annotate: true, fmt: f2, width: 440,
      missingLabel: `zeroing it changes the loss by less than ${r.min_ablate_delta} nats: nothing to rescue`,
    }),
    caption: `Stream i is zeroed at the output of layer ${l} and stream j's clean content is put in its slot; the colour is the share of the loss of zeroing that this recovers, 1 − Δ_rescue/Δ_zeroed (1: full rescue, 0: none; grey rows: zeroing the stream costs under ${r.min_ablate_delta} nats). The diagonal restores the stream itself and must read 1. Redundant streams, any of which can stand in for any other, light up off the diagonal too; a model that depends on one stream is rescued only on the diagonal of that stream's row. Column ${dom} copies in the dominant stream (largest E‖H‖² at this layer).`,
  };
}

/** One or two sentences per layer: is the costliest stream needed, and can another stand in for it? */
export function rescueReading(r: AblateRescue): string[] {
  return r.ablate.map((row, l) => {
    const n = row.length;
    const i = row.indexOf(Math.max(...row));
    const a = row[i] as number;
    if (!(a >= NEEDED_DELTA)) return `At L${l}, zeroing any one stream costs less than ${NEEDED_DELTA} nats: the model needs no single stream there.`;
    const fractions = r.rescued_fraction[l]?.[i] ?? [];
    let best = -1;
    for (let j = 0; j < n; j++) if (j !== i && fractions[j] !== null && (best < 0 || (fractions[j] as number) > (fractions[best] as number))) best = j;
    const f = best < 0 ? null : (fractions[best] as number);
    const head = `At L${l}, zeroing stream ${i} costs ${f3(a)} nats`;
    const dom = r.dominant[l];
    const domNote = dom === i ? ` Stream ${i} is also the dominant stream there (largest E‖H‖²).` : '';
    let first: string;
    if (f === null) first = `${head}.`;
    else if (f >= STANDS_IN) first = `${head}, and copying stream ${best} into its slot rescues ${pct(f)} of that: stream ${best} can stand in for it (the streams are redundant).`;
    else if (f <= NO_RESCUE) first = `${head} and no other stream rescues it (best: stream ${best}, ${pct(f)}): the model depends on stream ${i}.`;
    else first = `${head}; the best stand-in, stream ${best}, rescues ${pct(f)} of that: the streams overlap in part.`;
    return `${first}${domNote}${pairNote(r, l)}`;
  });
}

/** The pair whose joint cost most exceeds its two streams alone, when that excess is large. */
function pairNote(r: AblateRescue, l: number): string {
  const row = r.ablate[l] ?? [];
  let top: { i: number; j: number; pair: number; excess: number } | null = null;
  for (let i = 0; i < row.length; i++) {
    for (let j = i + 1; j < row.length; j++) {
      const pair = r.pair_ablation[l]?.[i]?.[j] as number;
      const excess = pair - (row[i] as number) - (row[j] as number);
      if (!top || excess > top.excess) top = { i, j, pair, excess };
    }
  }
  if (!top || top.excess < NEEDED_DELTA || top.excess < 0.5 * top.pair) return '';
  const alone = (row[top.i] as number) + (row[top.j] as number);
  return ` Zeroing streams ${top.i} and ${top.j} together costs ${f3(top.pair)} nats, against ${f3(alone)} for the two alone: each covers for the other.`;
}

export function rescueFigures(r: AblateRescue): Figure[] {
  return r.ablate.flatMap((_, l) => [pairAblationHeatmap(r, l), rescueHeatmap(r, l)]);
}

/** The paragraph that introduces the rescue figures and reads them, layer by layer. */
export function rescueHtml(r: AblateRescue): string {
  const restore = Math.max(...r.rescue.flatMap((rows) => rows.map((row, i) => Math.abs(row[i] as number))));
  const check = restore > 1e-6 ? ` Warning: restoring a stream from the clean run changed the loss by up to ${format('.2g')(restore)} nats, where it must change nothing; these numbers are suspect.` : '';
  const intro = `Ablate and rescue (${r.tokens} validation tokens, ${r.batches} batches): can one stream stand in for another? At the output of each layer a stream is zeroed, alone or with a second one, or zeroed and replaced by another stream's clean content.${check}`;
  const items = rescueReading(r).map((s) => `<li>${escapeXml(s)}</li>`).join('');
  return `<p>${escapeXml(intro)}</p><ul>${items}</ul>`;
}
