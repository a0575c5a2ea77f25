// The summary of a sweep (connection kinds × stream inits × seeds): per cell the mean and
// 95% t-interval over seeds of the final validation loss, last-layer dominance and N_eff, and
// the paired difference from the first cell (same seeds, hence same data order and init draws).
import { format } from 'd3-format';
import { escapeXml } from './escape.ts';
import type { Figure } from './figure.ts';
import { intervalPlot } from './figures/interval-plot.ts';
import { htmlPage, tableHtml } from './html-page.ts';
import { finalDiagnostics, type RunData, type RunSummary } from './run-data.ts';
import type { MeanInterval } from '../src/stats/t-interval.ts';
import { lossCurves } from './training-figures.ts';

export interface SweepRun {
  cell: string;
  seed: number;
  run: RunData;
  summary: RunSummary;
}

export interface SweepRow {
  cell: string;
  seeds: number[];
  valLoss: MeanInterval;
  dominance: MeanInterval;
  nEff: MeanInterval;
  /** Paired by seed against the first cell; undefined for the first cell itself. */
  valLossDelta?: MeanInterval;
}

export const finite = (xs: (number | undefined)[]) => xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));

const f3 = format('.3f');
const f4 = format('.4f');

/** "2.345 ± 0.012 [2.333, 2.357]" */
export function showInterval(m: MeanInterval, f: (x: number) => string = f3): string {
  if (m.n === 0) return '—';
  if (!Number.isFinite(m.halfWidth)) return `${f(m.mean)} (n = ${m.n})`;
  return `${f(m.mean)} ± ${f(m.halfWidth)}`;
}

/** Whether the interval of a paired difference excludes zero. */
export function differs(m: MeanInterval | undefined): boolean {
  return m !== undefined && Number.isFinite(m.halfWidth) && (m.lo > 0 || m.hi < 0);
}

const HEAD = ['cell', 'seeds', 'final val loss (mean ± 95% CI)', 'Δ val loss vs first cell, paired (95% CI)', 'last-layer dominance', 'last-layer N_eff'];

function rowCells(r: SweepRow, base: string): string[] {
  const delta = r.valLossDelta ? `${showInterval(r.valLossDelta, f4)} [${f4(r.valLossDelta.lo)}, ${f4(r.valLossDelta.hi)}]${differs(r.valLossDelta) ? ' *' : ''}` : `(baseline: ${base})`;
  return [r.cell, r.seeds.join(','), `${showInterval(r.valLoss)} [${f3(r.valLoss.lo)}, ${f3(r.valLoss.hi)}]`, delta, showInterval(r.dominance), showInterval(r.nEff)];
}

export function sweepMarkdown(rows: readonly SweepRow[]): string {
  const base = rows[0]?.cell ?? '';
  const lines = [`| ${HEAD.join(' | ')} |`, `|${HEAD.map(() => ' --- ').join('|')}|`];
  for (const r of rows) lines.push(`| ${rowCells(r, base).join(' | ')} |`);
  return `${lines.join('\n')}\n\n± is the half-width of the two-sided 95% Student-t interval over seeds (n − 1 degrees of freedom); * marks a paired difference whose interval excludes zero.\n`;
}

const RUN_HEAD = ['run', 'seed', 'final val loss', 'last-layer shares', 'dominant stream', 'init read streams', 'dominant read at init by'];

function runCells(s: SweepRun): string[] {
  const m = s.summary;
  const shares = finalShares(s);
  return [
    s.cell, String(s.seed), m.finalValLoss === undefined ? '—' : f3(m.finalValLoss), shares ? shares.map((x) => x.toFixed(2)).join(' ') : '—',
    m.lastLayerDominant === undefined ? '—' : String(m.lastLayerDominant), s.run.config.init_read_streams?.join(', ') ?? 'not recorded', m.dominantReadBy === undefined ? '—' : m.dominantReadBy.join(', ') || 'no module',
  ];
}

function finalShares(s: SweepRun): number[] | undefined {
  return finalDiagnostics(s.run.metrics)?.layers.at(-1)?.signal_shares;
}

/** Per run: which stream dominates after the last layer, and which modules read it at init. */
export function sweepRunsMarkdown(runs: readonly SweepRun[]): string {
  const lines = [`| ${RUN_HEAD.join(' | ')} |`, `|${RUN_HEAD.map(() => ' --- ').join('|')}|`];
  for (const s of runs.filter((r) => r.summary.nStreams > 1)) lines.push(`| ${runCells(s).join(' | ')} |`);
  return `${lines.join('\n')}\n\nInit read streams are listed per module in forward order (0.attn, 0.mlp, 1.attn, …).\n`;
}

export function renderSweepPage(name: string, rows: readonly SweepRow[], runs: readonly SweepRun[]): { html: string; figures: Figure[] } {
  const base = rows[0]?.cell ?? '';
  const plot = (id: string, title: string, xLabel: string, pick: (r: SweepRow) => MeanInterval, value: (s: SweepRun) => number | undefined): Figure => ({
    id,
    svg: intervalPlot({ id, title, xLabel, rows: rows.map((r) => ({ label: r.cell, ...pick(r), values: finite(runs.filter((s) => s.cell === r.cell).map(value)) })) }),
    caption: `${title}: mean over seeds (filled dot), 95% t-interval (bar) and each seed (hollow dots).`,
  });
  const figures = [
    plot('sweep-val-loss', 'Final validation loss', 'cross-entropy (nats/token)', (r) => r.valLoss, (s) => s.summary.finalValLoss),
    plot('sweep-dominance', 'Last-layer dominance', 'max_i s_i', (r) => r.dominance, (s) => s.summary.lastLayerDominance),
    plot('sweep-n-eff', 'Last-layer N_eff', 'N_eff', (r) => r.nEff, (s) => s.summary.lastLayerNEff),
    { ...lossCurves(runs.filter((r) => r.seed === runs[0]?.seed).map((r) => ({ ...r.run, name: r.cell })), 'sweep-loss'), caption: `Loss curves of every cell for seed ${runs[0]?.seed ?? ''}.` },
  ];
  const html = htmlPage({
    title: `hcprobe sweep: ${name}`,
    subtitleHtml: escapeXml(`${rows.length} cells × ${Math.max(0, ...rows.map((r) => r.seeds.length))} seeds · ${runs.length} runs`),
    summaryHtml: `${tableHtml(HEAD, rows.map((r) => rowCells(r, base)))}<p class="note">${escapeXml('± is the half-width of the two-sided 95% Student-t interval over seeds; * marks a paired difference (same seed) whose interval excludes zero.')}</p>${runs.some((r) => r.summary.nStreams > 1) ? tableHtml(RUN_HEAD, runs.filter((r) => r.summary.nStreams > 1).map(runCells)) : ''}`,
    sections: [{ id: 'sweep', title: 'Across seeds', figures }],
  });
  return { html, figures };
}
