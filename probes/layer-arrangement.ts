// Sequential vs parallel arrangement of the modules, read off the unfolded connection matrix as
// the HC paper's visualization section does: a module that reads its predecessor's output with
// weight ≈ 0 runs beside it, not after it; later modules that ignore the embedding "eliminate" it.
import type { ArrangementPair, DiagnosticsResult, LayerArrangement } from './results-schema.ts';

/**
 * Relative weight under which a connection counts as absent: a tenth of what it would be if
 * every entry of the reader's row were equal (a plain residual network, where all are 1).
 */
export const PARALLEL_THRESHOLD = 0.1;

type Unfolded = NonNullable<DiagnosticsResult['unfolded']>;

/** "0.attn" → "L0 attn". */
const label = (m: string) => `L${m.replace('.', ' ')}`;
/** Two significant digits, no trailing zeros: 0.33, 0.02, 0.0099, 1. */
const f2 = (v: number) => String(Number(v.toPrecision(2)));

/** Module k's row of absolute weights: the embedding, then every earlier module's output. */
function row(u: Unfolded, k: number): number[] {
  return [Math.abs(u.embed[k] ?? 0), ...Array.from({ length: k }, (_, j) => Math.abs(u.matrix[k]?.[j] ?? 0))];
}

/** |entry| / Σ|row| and that share times the row's length; both 0 for a row of zeros. */
function shareOf(u: Unfolded, k: number, entry: number): { share: number; relative: number } {
  const r = row(u, k);
  const total = r.reduce((s, v) => s + v, 0);
  const share = total > 0 ? Math.abs(entry) / total : 0;
  return { share, relative: share * r.length };
}

const reads = (u: Unfolded, k: number, j: number, threshold: number) => shareOf(u, k, u.matrix[k]?.[j] ?? 0).relative >= threshold;

export function layerArrangement(u: Unfolded, threshold = PARALLEL_THRESHOLD): LayerArrangement {
  const K = u.modules.length;
  const name = (k: number) => u.modules[k] as string;
  const pairs: ArrangementPair[] = [];
  for (let k = 0; k + 1 < K; k++) {
    const weight = u.matrix[k + 1]?.[k] ?? 0;
    const { share, relative } = shareOf(u, k + 1, weight);
    pairs.push({ writer: name(k), reader: name(k + 1), weight, share, relative, arrangement: relative < threshold ? 'parallel' : 'sequential' });
  }
  // Maximal runs [a, b]: the longest run from each start, kept unless the previous start's covers it.
  const blocks: LayerArrangement['parallel_blocks'] = [];
  let prevEnd = -1;
  for (let a = 0; a < K; a++) {
    let b = a;
    while (b + 1 < K && !Array.from({ length: b - a + 1 }, (_, i) => a + i).some((j) => reads(u, b + 1, j, threshold))) b++;
    if (b > a && b > prevEnd) blocks.push({ start: a, end: b, modules: u.modules.slice(a, b + 1) });
    prevEnd = Math.max(prevEnd, b);
  }
  const embed = u.modules.map((_, k) => shareOf(u, k, u.embed[k] ?? 0));
  let from: number | null = null;
  for (let k = K - 1; k >= 1 && (embed[k]?.relative ?? 1) < threshold; k--) from = k;
  const result: LayerArrangement = {
    threshold,
    pairs,
    parallel_blocks: blocks,
    embed_share: embed.map((e) => e.share),
    embed_relative: embed.map((e) => e.relative),
    embed_eliminated_from: from === null ? null : name(from),
    sentences: [],
  };
  result.sentences = arrangementSentences(result);
  return result;
}

/** The findings in words: parallel pairs, parallel blocks, embedding elimination. */
export function arrangementSentences(a: LayerArrangement): string[] {
  const out: string[] = [];
  const parallel = a.pairs.filter((p) => p.arrangement === 'parallel');
  if (a.pairs.length === 0) return ['One module: there is no pair to arrange.'];
  if (parallel.length === 0) {
    // Weakest by the same measure that decides parallel (share × row length): a late row's share is
    // small only because the row is long.
    const weakest = [...a.pairs].sort((x, y) => x.relative - y.relative)[0] as ArrangementPair;
    out.push(`Every module reads its predecessor's output: the arrangement is sequential (weakest: ${label(weakest.reader)} reads ${label(weakest.writer)}'s output with weight ${f2(weakest.share)} of its input).`);
  } else {
    const shown = parallel.slice(0, 3).map((p) => `${label(p.writer)} and ${label(p.reader)} run in parallel: ${label(p.reader)} reads ${label(p.writer)}'s output with weight ${f2(p.share)} of its input`);
    const more = parallel.length > 3 ? ` (and ${parallel.length - 3} more pairs)` : '';
    out.push(`${parallel.length} of ${a.pairs.length} adjacent pairs run in parallel. ${shown.join('; ')}${more}.`);
  }
  for (const b of a.parallel_blocks.filter((x) => x.end - x.start >= 2)) {
    out.push(`${label(b.modules[0] as string)} to ${label(b.modules.at(-1) as string)} form a parallel block of ${b.modules.length} modules: none reads another's output.`);
  }
  if (a.embed_eliminated_from !== null) {
    const modules = [a.pairs[0]?.writer, ...a.pairs.map((p) => p.reader)];
    const k = modules.indexOf(a.embed_eliminated_from);
    out.push(`Input embedding elimination: from ${label(a.embed_eliminated_from)} on, no module reads the embedding (its weight is at most ${f2(Math.max(...a.embed_share.slice(k)))} of any input).`);
  } else out.push(`The embedding is still read by the last module (weight ${f2(a.embed_share.at(-1) ?? 0)} of its input): no input embedding elimination.`);
  return out;
}
