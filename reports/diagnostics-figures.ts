// Figures and tables from results/NAME/diagnostics.json (probes/results-schema.ts): signal
// shares and N_eff of the captured activations, redundancy between streams, cross-stream
// predictability, the unfolded connection matrix, stream ablations, the per-stream logit lens,
// the mixing interventions, ablate-and-rescue (rescue-figures.ts), and the direct logit
// attribution and layer arrangement (attribution-figures.ts).
import { format } from 'd3-format';
import type { DiagnosticsResult, StreamSiteDiagnostics } from '../probes/results-schema.ts';
import { arrangementHtml, attributionFigures } from './attribution-figures.ts';
import { escapeXml } from './escape.ts';
import type { Figure } from './figure.ts';
import { heatmap } from './figures/heatmap.ts';
import { type LineSeries, lineChart } from './figures/line-chart.ts';
import { stackedBars } from './figures/stacked-bars.ts';
import { type Section, tableHtml } from './html-page.ts';
import { categorical } from './palette.ts';
import { preConstraintFigures, preConstraintHtml } from './pre-constraint-figures.ts';
import { rescueFigures, rescueHtml } from './rescue-figures.ts';
import { unfoldedHeatmap } from './training-figures.ts';
import { unfoldedTable } from './unfolded-connection.ts';

const f3 = format('.3f');

/** The stream site to show: resid_post when captured, else the first one; one row per module in forward order. */
export function mainSite(d: DiagnosticsResult): StreamSiteDiagnostics[] {
  const site = d.streams.some((s) => s.site === 'resid_post') ? 'resid_post' : d.streams[0]?.site;
  return d.streams.filter((s) => s.site === site).sort((a, b) => a.layer - b.layer || a.module.localeCompare(b.module));
}

const rowLabel = (s: StreamSiteDiagnostics) => `L${s.layer} ${s.module}`;

export function capturedSignalShares(d: DiagnosticsResult): Figure {
  const rows = mainSite(d);
  const site = rows[0]?.site ?? 'resid_post';
  const id = 'diag-signal-shares';
  return {
    id,
    svg: stackedBars({ id, title: `Signal share per layer (captured, ${site})`, xLabel: 'module (output)', yLabel: 'share of E‖H‖²', categories: rows.map(rowLabel), shares: rows.map((s) => s.signal.shares), partLabel: (k) => `stream ${k}` }),
    caption: `Signal shares s_i = E‖H_i‖² / Σ_j E‖H_j‖² over the ${d.tokens} captured tokens at ${site}.`,
  };
}

export function capturedNEff(d: DiagnosticsResult): Figure {
  const rows = mainSite(d);
  const n = d.model.n_streams;
  const id = 'diag-n-eff';
  const series: LineSeries[] = [
    { name: 'N_eff = exp(H(s))', points: rows.map((s, i) => [i, s.signal.n_eff]), markers: true },
    { name: 'N_eff = 1/Σ s²', points: rows.map((s, i) => [i, s.signal.n_eff_simpson]), markers: true, dash: '5 4' },
  ];
  return {
    id,
    svg: lineChart({ id, title: 'Effective number of streams (captured)', xLabel: `module in forward order (0 = L0 attn, 1 = L0 mlp, …), ${rows[0]?.site ?? ''}`, yLabel: 'N_eff', series, yDomain: [1, Math.max(1.5, n)], refLines: [{ y: n, label: `n = ${n}` }], integerX: true, width: 480, height: 300 }),
    caption: 'Both forms of the effective number of streams of the captured signal shares: the entropy form and the inverse Simpson index.',
  };
}

export function redundancy(d: DiagnosticsResult): Figure {
  const rows = mainSite(d);
  const id = 'diag-redundancy';
  const series: LineSeries[] = [
    { name: 'mean pairwise cosine', points: rows.map((s, i) => [i, s.mean_pairwise_cosine ?? Number.NaN]), markers: true, color: categorical(0) },
    { name: 'mean pairwise linear CKA', points: rows.map((s, i) => [i, s.mean_pairwise_cka ?? Number.NaN]), markers: true, color: categorical(1) },
  ];
  return {
    id,
    svg: lineChart({ id, title: 'Redundancy between streams', xLabel: `module in forward order (0 = L0 attn, 1 = L0 mlp, …), ${rows[0]?.site ?? ''}`, yLabel: 'similarity', series, yDomain: [0, 1], integerX: true, width: 480, height: 300 }),
    caption: 'How alike the streams are: mean cosine between H_i and H_j per token, and linear CKA over tokens, averaged over stream pairs. Near 1: the streams carry copies of the same signal.',
  };
}

export function ridgeR2(d: DiagnosticsResult): Figure {
  const rows = mainSite(d);
  const last = rows[rows.length - 1];
  const id = 'diag-ridge-r2';
  const n = d.model.n_streams;
  const labels = Array.from({ length: n }, (_, i) => `stream ${i}`);
  return {
    id,
    svg: heatmap({ id, title: `Cross-stream predictability (${last ? rowLabel(last) : ''})`, xLabel: 'predicted stream j', yLabel: 'from stream i', rows: labels, cols: labels, values: last?.ridge_r2 ?? [], scheme: 'viridis', domain: [0, 1], valueLabel: 'test R²', annotate: true, width: 420 }),
    caption: 'Test R² of a ridge regression predicting stream j from stream i at the last module (held-out 20% of tokens). High off the diagonal: one stream is a linear function of another.',
  };
}

export function ablationHeatmap(d: DiagnosticsResult, kind: 'zero' | 'mean'): Figure | undefined {
  const c = d.causal;
  if (!c) return undefined;
  const m = kind === 'zero' ? c.ablation_zero : c.ablation_mean;
  const id = `diag-ablation-${kind}`;
  return {
    id,
    svg: heatmap({ id, title: `Stream ablation: Δ validation loss (${kind})`, xLabel: 'ablated stream', yLabel: 'after layer', rows: m.map((_, l) => `L${l}`), cols: (m[0] ?? []).map((_, i) => `stream ${i}`), values: m, scheme: 'diverging', center: 0, valueLabel: 'Δ loss (nats)', annotate: true, width: 460 }),
    caption: `Change in validation loss (base ${f3(c.loss)} nats, ${c.tokens} tokens) when stream i is ${kind === 'zero' ? 'zeroed' : 'replaced by its mean'} at the output of layer l. Red: the model needs that stream; white: it can do without it.`,
  };
}

export function logitLens(d: DiagnosticsResult): Figure | undefined {
  const c = d.causal;
  if (!c) return undefined;
  const id = 'diag-logit-lens';
  const values = c.logit_lens.map((row, l) => [...row, c.logit_lens_sum[l] ?? null]);
  return {
    id,
    svg: heatmap({ id, title: 'Per-stream logit lens: cross-entropy', xLabel: 'unembedded', yLabel: 'after layer', rows: values.map((_, l) => `L${l}`), cols: [...(c.logit_lens[0] ?? []).map((_, i) => `stream ${i}`), 'all (Σ)'], values, scheme: 'cividis', valueLabel: 'cross-entropy (nats)', annotate: true, width: 480 }),
    caption: `Cross-entropy when only ln_f(H_i) of one stream is unembedded after layer l, and (last column) the model's own readout Σ_i ln_f(H_i) there. Lower is better; the full model reaches ${f3(c.loss)}.`,
  };
}

export function capturedUnfolded(d: DiagnosticsResult): Figure | undefined {
  if (!d.unfolded) return undefined;
  const id = 'diag-unfolded';
  return {
    id,
    svg: unfoldedHeatmap(unfoldedTable(d.unfolded.modules, d.unfolded.matrix, d.unfolded.embed), id, 'Unfolded connection matrix (captured)'),
    caption: 'The unfolded connection matrix from the coefficients averaged over the captured tokens (HC paper, Eqs. 27–29): rows read, columns wrote.',
  };
}

function coefficientsTable(d: DiagnosticsResult): string {
  if (d.coefficients.length === 0) return '';
  return tableHtml(
    ['module', 'identity distance', 'off-diagonal mass', 'Amax forward', 'Amax backward', 'read dominance (stream)', 'write dominance (stream)'],
    d.coefficients.map((c) => [`L${c.layer} ${c.module}`, f3(c.identity_distance), f3(c.off_diagonal_mass), f3(c.amax.forward), f3(c.amax.backward), `${f3(c.read.dominance)} (${c.read.dominant})`, `${f3(c.write.dominance)} (${c.write.dominant})`]),
  );
}

function dominanceTable(d: DiagnosticsResult): string {
  if (d.dominance.length === 0) return '';
  return tableHtml(
    ['what', 'site', 'module', 'dominant stream per layer', 'same at every layer'],
    d.dominance.map((x) => [x.what, x.site, x.module, x.dominant.join(' '), x.same ? 'yes' : 'no']),
  );
}

/** One paragraph: is the dominant stream the one most modules read at init? */
export function initBiasHtml(d: DiagnosticsResult): string {
  const b = d.init_read_bias;
  if (!b) return d.model.n_streams > 1 ? '<p class="note">The init read streams are not recorded for this model (a checkpoint without read_streams metadata), so whether the dominant stream is the init-favoured one cannot be said.</p>' : '';
  const counts = b.counts.map((c, s) => `stream ${s}: ${c}`).join(', ');
  const favoured = b.favoured.length === 1 ? `stream ${b.favoured[0]}` : `streams ${b.favoured.join(', ')} (tied)`;
  const verdict =
    b.dominant === null ? 'No resid_post site was captured, so no dominant stream is measured.'
    : b.dominant_is_favoured ? `The dominant stream after layer ${b.dominant_layer} is stream ${b.dominant}: the one the init favoured (a stream picked at random would be with probability ${f3(b.chance)}).`
    : `The dominant stream after layer ${b.dominant_layer} is stream ${b.dominant}, not the init-favoured ${favoured}.`;
  const readers = b.dominant === null ? '' : b.dominant_read_by.length ? ` At init, stream ${b.dominant} was read by module${b.dominant_read_by.length > 1 ? 's' : ''} ${b.dominant_read_by.join(', ')}.` : ` No module read stream ${b.dominant} at init.`;
  const kept = b.modules.length ? ` ${b.modules.filter((x) => x.same).length} of ${b.modules.length} modules still read most from their init stream.` : '';
  return `<p>${escapeXml(`At init the modules read from (count per stream) ${counts}: the init favoured ${favoured}. ${verdict}${readers}${kept}`)}</p>`;
}

const INTERVENTION_LABELS = {
  identity: 'every A_r replaced by the identity',
  no_off_diagonal: 'A_r off-diagonal zeroed (rows renormalised for mhc, mhc-lite)',
  token_mean: 'A_m, A_r and B frozen at their token means',
  permuted: 'A_r·P: streams shifted one slot (s → s+1 mod n) at every module, A_m and B kept',
} as const;

/** Δ CE of the mixing interventions with their paired 95% intervals; '' when not measured. */
function interventionsTable(d: DiagnosticsResult): string {
  const rows = d.causal?.mixing_interventions;
  if (!rows?.length) return '';
  const table = tableHtml(
    ['intervention on every module', 'Δ validation CE (nats)', 'paired 95% interval', 'batches'],
    rows.map((r) => [INTERVENTION_LABELS[r.name], f3(r.delta_ce), r.ci_low === null || r.ci_high === null ? 'none (one batch)' : `[${f3(r.ci_low)}, ${f3(r.ci_high)}]`, String(r.batches)]),
  );
  return `<p>${escapeXml('Does the model use its residual mixing, and does it matter which stream is which? The change in validation loss when each module\'s mixing is replaced. An interval around zero for the identity means the mixing is not used; one around zero for the shifted streams means the streams are interchangeable (stream identity does not matter), while a cost means the modules rely on particular streams being in particular slots.')}</p>${table}`;
}

export function diagnosticsSection(d: DiagnosticsResult): Section {
  const figures: Figure[] = [];
  if (d.streams.length) figures.push(capturedSignalShares(d), capturedNEff(d));
  if (d.model.n_streams > 1 && d.streams.length) figures.push(redundancy(d), ridgeR2(d));
  for (const f of [capturedUnfolded(d), ablationHeatmap(d, 'zero'), ablationHeatmap(d, 'mean'), logitLens(d)]) if (f) figures.push(f);
  const rescue = d.causal?.ablate_rescue;
  if (rescue) figures.push(...rescueFigures(rescue));
  figures.push(...attributionFigures(d));
  figures.push(...preConstraintFigures(d));
  const notes = d.notes.length ? `<p class="note">${escapeXml(d.notes.join(' '))}</p>` : '';
  return {
    id: 'diagnostics',
    title: 'Stream diagnostics',
    introHtml: escapeXml(`From ${d.tokens} captured tokens (${d.acts}). ${d.causal ? '' : 'No causal measurements (the run was not given to diagnose).'}`),
    figures,
    html: `${initBiasHtml(d)}${arrangementHtml(d)}${interventionsTable(d)}${rescue ? rescueHtml(rescue) : ''}${preConstraintHtml(d)}${coefficientsTable(d)}${dominanceTable(d)}${notes}`,
  };
}
