// Figures and a table from diagnostics.json's `pre_constraint` (probes/pre-constraint.ts), after
// the stream-collapse paper's analyze/h_and_nu.py: the histogram of ν = max − min of A_r's logits
// before the constraint with the share above 30, box plots of the column sums of A_r and of its
// per-token product per column index, and the mHC-lite permutation-entropy distribution.
import { format } from 'd3-format';
import type { PreConstraintDiagnostics } from '../probes/pre-constraint.ts';
import type { DiagnosticsResult } from '../probes/results-schema.ts';
import { escapeXml } from './escape.ts';
import type { Figure } from './figure.ts';
import { binnedHistogram } from './figures/binned-histogram.ts';
import { heatmap } from './figures/heatmap.ts';
import { quantileBoxes } from './figures/quantile-boxes.ts';
import { tableHtml } from './html-page.ts';

const f3 = format('.3f');
const g3 = format('.3~g');
const pct = format('.1%');

const moduleLabel = (m: string) => {
  const [layer, module] = m.split('.');
  return `L${layer} ${module}`;
};

const spreadText = (q: { q05: number; q50: number; q95: number }) => `median ${g3(q.q50)} (5–95%: ${g3(q.q05)} to ${g3(q.q95)})`;

export function nuHistogram(p: PreConstraintDiagnostics): Figure | undefined {
  const nu = p.nu;
  if (!nu) return undefined;
  const id = 'diag-pre-constraint-nu';
  const pairs = p.tokens * p.modules.length;
  const sinkhorn = nu.over === 'sinkhorn_input';
  const above = `${pct(nu.share_above)} of ${pairs} (token, module) pairs have ν > ${nu.threshold}; ν is ${spreadText(nu.spread)}, at most ${g3(nu.spread.max)}.`;
  const caption = sinkhorn
    ? `Per token and module, ν = max − min of the n×n logits R whose exp Sinkhorn projects onto the doubly stochastic matrices (the reference's H_res_bef; its histogram axis is labelled log(1/ν), since max R − min R = log of the largest over the smallest entry of exp R). Large ν: the Sinkhorn input is far from uniform, and 20 iterations need not reach a doubly stochastic A_r (see the column sums below). ${above} The dashed line is the paper's threshold of ${nu.threshold}.`
    : `Per token and module, max − min of the ${nu.entries} permutation logits of mHC-lite: e^ν is the ratio of the largest to the smallest permutation weight. mHC-lite has no Sinkhorn, so this is not the paper's ν (the reference computes none for mHC-lite) and A_r is exactly doubly stochastic whatever the spread; a large spread only says the weights are concentrated (see the entropy). ${above} The dashed line marks ${nu.threshold} for comparison with mHC.`;
  return {
    id,
    svg: binnedHistogram({
      id,
      title: sinkhorn ? 'ν = max − min of the Sinkhorn input R, per token' : 'Permutation-logit spread (max − min) per token',
      xLabel: sinkhorn ? 'ν = max R − min R  (the paper’s log(1/ν))' : 'max − min of the n! logits',
      yLabel: 'token × module count',
      lo: nu.histogram.lo,
      hi: nu.histogram.hi,
      counts: nu.histogram.counts,
      highlightFrom: { x: nu.threshold, below: `ν ≤ ${nu.threshold}`, above: `ν > ${nu.threshold} (${pct(nu.share_above)})` },
      refLines: [{ x: nu.threshold, label: `${nu.threshold}` }],
    }),
    caption,
  };
}

function columnSumCaption(p: PreConstraintDiagnostics, product: boolean): string {
  const dev = product ? p.product_column_sums.max_abs_deviation : p.column_sums.max_abs_deviation;
  const what = product
    ? `Column sums of the per-token product A_r^0 A_r^1 … A_r^${p.modules.length - 1} over all ${p.modules.length} modules in forward order, per column index t: how much of the streams' content the residual path alone carries into stream t from the first module's input to the last one's output.`
    : `Column sums Σ_s A_r[s][t] per token, per column index t, pooled over the ${p.modules.length} modules (as the reference pools them): the total weight that stream t receives.`;
  const boxes = `Boxes span the 25–75% quantiles over ${p.tokens} tokens, whiskers 5–95%, the bar is the median and the dot the mean; the dashed line is 1.`;
  const meaning =
    p.connection === 'hc'
      ? `HC constrains nothing: column sums ≠ 1 show the mixing is not doubly stochastic${product ? ', and in the product they compound over the modules (above 1 the residual path amplifies what lands in stream t, below 1 it attenuates it)' : ''}.`
      : p.connection === 'mhc'
        ? `Sinkhorn's last step normalises rows, so rows sum to 1 and the column sums hold what 20 iterations left undone; they drift from 1 where ν is large${product ? ', and the drift compounds in the product' : ''}.`
        : `mHC-lite's A_r is a convex combination of permutation matrices, so every column sums to exactly 1 by construction${product ? ', and so does the product' : ''}; what is left is float32 rounding.`;
  return `${what} ${boxes} ${meaning} Largest |column sum − 1|: ${g3(dev)}.`;
}

export function columnSumBoxes(p: PreConstraintDiagnostics, product: boolean): Figure {
  const id = product ? 'diag-pre-constraint-product-colsums' : 'diag-pre-constraint-colsums';
  const per = product ? p.product_column_sums.per_column : p.column_sums.per_column;
  return {
    id,
    svg: quantileBoxes({
      id,
      title: product ? 'Column sums of the product Π_k A_r^k, per token' : 'Column sums of A_r, per token',
      xLabel: 'column index t',
      yLabel: 'column sum',
      categories: per.map((_, t) => `${t}`),
      series: [{ name: product ? 'Π_k A_r^k' : 'A_r', boxes: per }],
      refLines: [{ y: 1, label: 'doubly stochastic' }],
    }),
    caption: columnSumCaption(p, product),
  };
}

/** Median column sum per module and column; not drawn for mHC-lite, where every entry is 1. */
export function columnSumModules(p: PreConstraintDiagnostics): Figure | undefined {
  if (p.connection === 'mhc-lite' || p.column_sums.per_module.length === 0) return undefined;
  const id = 'diag-pre-constraint-colsums-modules';
  const values = p.column_sums.per_module.map((row) => row.map((q) => q.q50));
  const annotations = p.column_sums.per_module.map((row) => row.map((q) => f3(q.q50)));
  return {
    id,
    svg: heatmap({ id, title: 'Median column sum of A_r per module', xLabel: 'column index t', yLabel: 'module', rows: p.modules.map(moduleLabel), cols: (p.column_sums.per_module[0] ?? []).map((_, t) => `${t}`), values, scheme: 'diverging', center: 1, valueLabel: 'median Σ_s A_r[s][t]', annotations, fmt: f3, width: 460 }),
    caption: 'The median over tokens of each module\'s column sums: which modules and columns carry the departure from doubly stochastic. White is 1; red gathers more than it gives, blue less.',
  };
}

export function permutationEntropy(p: PreConstraintDiagnostics): Figure | undefined {
  const perms = p.permutations;
  if (!perms) return undefined;
  const id = 'diag-pre-constraint-entropy';
  return {
    id,
    svg: quantileBoxes({
      id,
      title: 'Entropy of the mHC-lite permutation weights, per token',
      xLabel: 'module',
      yLabel: 'H(w) / log n!',
      categories: [...p.modules.map(moduleLabel), 'all'],
      series: [{ name: 'entropy', boxes: [...perms.per_module_entropy, perms.entropy] }],
      yDomain: [0, 1],
    }),
    caption: `Entropy of the weights w = softmax(logits) over the ${perms.n_permutations} permutation matrices, per token, divided by log ${perms.n_permutations}: 0 when one permutation carries all the weight (A_r is that permutation: streams are moved, not mixed), 1 when the weights are uniform (A_r = J/n: every stream gets the mean). Over all modules: ${spreadText(perms.entropy)}. The identity permutation has the largest weight for ${pct(perms.identity_top_share)} of (token, module) pairs.`,
  };
}

export function preConstraintFigures(d: DiagnosticsResult): Figure[] {
  const p = d.pre_constraint;
  if (!p) return [];
  return [nuHistogram(p), columnSumBoxes(p, false), columnSumModules(p), columnSumBoxes(p, true), permutationEntropy(p)].filter((f): f is Figure => f !== undefined);
}

/** One row per module: ν median / 95% / share above the threshold, column-sum range, and for mHC-lite entropy and identity-on-top share. */
export function preConstraintHtml(d: DiagnosticsResult): string {
  const p = d.pre_constraint;
  if (!p) return '';
  const nu = p.nu;
  const perms = p.permutations;
  const head = ['module', ...(nu ? ['ν median', 'ν 95%', `share ν > ${nu.threshold}`] : []), 'column sums 5–95%', ...(perms ? ['entropy median', 'identity on top'] : [])];
  const rows = p.modules.map((m, k) => {
    const cols = p.column_sums.per_module[k] ?? [];
    const lo = Math.min(...cols.map((q) => q.q05));
    const hi = Math.max(...cols.map((q) => q.q95));
    const nm = nu?.per_module[k];
    return [
      moduleLabel(m),
      ...(nu && nm ? [g3(nm.spread.q50), g3(nm.spread.q95), pct(nm.share_above)] : []),
      `${f3(lo)} to ${f3(hi)}`,
      ...(perms ? [f3(perms.per_module_entropy[k]?.q50 ?? Number.NaN), pct(perms.per_module_identity_top_share[k] ?? Number.NaN)] : []),
    ];
  });
  const intro = `A_r before and after its constraint on ${p.tokens} validation tokens (${p.connection}, checkpoint ${p.checkpoint}), per module.`;
  return `<p>${escapeXml(intro)}</p>${tableHtml(head, rows)}`;
}
