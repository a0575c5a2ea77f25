// The report of one run: a summary that answers "did the streams collapse?", the training
// figures, then whatever results exist (diagnostics, probes, SAEs) — results → one HTML page.
import { format } from 'd3-format';
import { escapeXml } from './escape.ts';
import { htmlPage, type Section, tableHtml } from './html-page.ts';
import { describeRun, finalDiagnostics, type RunData, summariseRun } from './run-data.ts';
import type { Figure } from './figure.ts';
import { lssFigures } from './lss-figures.ts';
import { trainingFigures } from './training-figures.ts';

export interface RenderedReport {
  html: string;
  /** Each figure's SVG, to be written beside the HTML as FILES_DIR/ID.svg. */
  figures: Figure[];
}

const f3 = format('.3f');
const pct = format('.0%');

/** Plain sentences on stream concentration: the last layer, and the most concentrated layer if another. */
export function collapseVerdict(run: RunData): string {
  const s = summariseRun(run);
  const n = s.nStreams;
  if (n <= 1) return 'A plain residual model: one stream, nothing to collapse.';
  if (run.metrics.length === 0) return 'No training metrics: the stream diagnostics of a capture, if any, are in the sections below.';
  if (s.lastLayerDominance === undefined || s.lastLayerNEff === undefined) return 'No stream diagnostics were logged.';
  const d = s.lastLayerDominance;
  const head = `At the last layer, stream ${s.lastLayerDominant} holds ${pct(d)} of the signal (N_eff ${f3(s.lastLayerNEff)} of ${n}; an even split is ${pct(1 / n)}).`;
  const reading =
    d >= 0.9 ? 'The streams have collapsed onto one.'
    : d >= 0.5 ? 'One stream dominates, but the others still carry signal.'
    : d >= 1.5 / n ? `One stream carries ${(d * n).toFixed(1)}× an even share, but none dominates.`
    : 'The signal is spread about evenly across the streams.';
  const layers = finalDiagnostics(run.metrics)?.layers ?? [];
  const top = layers.reduce<(typeof layers)[number] | undefined>((a, l) => (a === undefined || l.dominance > a.dominance ? l : a), undefined);
  const last = layers[layers.length - 1];
  const peak = top && last && top.layer !== last.layer && top.dominance > d + 0.05 ? ` The most concentrated layer is L${top.layer}: stream ${top.dominant} holds ${pct(top.dominance)} there.` : '';
  return `${head} ${reading}${peak}`;
}

export function summaryTable(run: RunData): string {
  const s = summariseRun(run);
  const c = run.config;
  const opt = (v: number | undefined, f: (x: number) => string = f3) => (v === undefined ? '—' : f(v));
  return tableHtml(
    ['model', 'layers', 'd_model', 'steps', 'final train loss', 'final val loss', 'last-layer dominance', 'last-layer N_eff', 'mean N_eff over layers'],
    [[describeRun(c), c.model.nLayers, c.model.dModel, run.metrics.length ? s.steps : '—', opt(s.finalLoss), opt(s.finalValLoss), opt(s.lastLayerDominance), opt(s.lastLayerNEff), opt(s.meanNEff)]],
  );
}

/** "mhc-lite · 4 streams · copy init · 2 layers · d 64 · corpus synthetic · seed 1337"; a checkpoint alone may know neither corpus nor seed. */
function subtitle(run: RunData): string {
  const c = run.config;
  const known = (what: string, v: string | number | undefined) => (v === undefined && run.checkpoint !== undefined ? [] : [`${what} ${v ?? '?'}`]);
  return [describeRun(c), `${c.model.nLayers} layers`, `d ${c.model.dModel}`, ...known('corpus', c.corpus), ...known('seed', c.seed), ...(run.checkpoint ? [`checkpoint ${run.checkpoint}`] : [])].join(' · ');
}

export interface RunReportInput {
  run: RunData;
  /** Sections drawn from results files (diagnostics, probes, SAEs), already built. */
  resultSections?: Section[];
  /** Names of result files that were looked for and not found, shown as a note. */
  missing?: string[];
  generatedBy?: string;
}

export function renderRunReport(input: RunReportInput): RenderedReport {
  const { run } = input;
  // Without metrics every training figure would be an empty frame: one note says why instead.
  const training = run.metrics.length ? [...trainingFigures(run), ...lssFigures(run)] : [];
  const results = input.resultSections ?? [];
  const noCurves = run.checkpoint !== undefined
    ? `No training curves: this report is of the checkpoint ${run.checkpoint} without its run directory, so there are no training metrics (metrics.jsonl).`
    : 'No training curves: the run has logged no training metrics (metrics.jsonl) yet.';
  const sections: Section[] = [
    training.length
      ? { id: 'training', title: 'Training', introHtml: escapeXml('Measured during training on a fixed validation batch (metrics.jsonl).'), figures: training }
      : { id: 'training', title: 'Training', figures: [], html: `<p class="note">${escapeXml(noCurves)}</p>` },
    ...results,
  ];
  if (input.missing?.length) {
    sections.push({ id: 'not-found', title: 'Not in this report', figures: [], html: `<p class="note">${escapeXml(`No results found for: ${input.missing.join(', ')}. Run the commands that make them, then the report again.`)}</p>` });
  }
  const summaryHtml = `<p class="verdict">${escapeXml(collapseVerdict(run))}</p>${summaryTable(run)}`;
  const html = htmlPage({
    title: `hcprobe report: ${run.name}`,
    subtitleHtml: escapeXml(subtitle(run)),
    summaryHtml,
    sections,
    footer: input.generatedBy ?? 'Generated by hcprobe.',
  });
  return { html, figures: [...training, ...results.flatMap((s) => [...s.figures, ...(s.columns ?? []).flatMap((c) => c.figures)])] };
}
