// Several runs side by side: a table of final validation loss, dominance and N_eff, the loss
// curves overlaid, then each section's figures in one column per run.
import { format } from 'd3-format';
import { escapeXml } from './escape.ts';
import type { Figure } from './figure.ts';
import { htmlPage, type Section, tableHtml } from './html-page.ts';
import { describeRun, type RunData, summariseRun } from './run-data.ts';
import type { RenderedReport } from './run-report.ts';
import { lossCurves, trainingFigures } from './training-figures.ts';

const f3 = format('.3f');

/** The same figure under a new id (ids must be unique in one page and one folder). */
export function withIdPrefix(f: Figure, prefix: string): Figure {
  const id = `${prefix}-${f.id}`;
  return { ...f, id, svg: f.svg.replaceAll(`id="${f.id}"`, `id="${id}"`).replaceAll(`"${f.id}-title"`, `"${id}-title"`) };
}

export function compareTable(runs: readonly RunData[]): string {
  const opt = (v: number | undefined) => (v === undefined ? '—' : f3(v));
  return tableHtml(
    ['run', 'model', 'steps', 'final val loss', 'last-layer dominance (stream)', 'last-layer N_eff', 'mean N_eff over layers'],
    runs.map((r) => {
      const s = summariseRun(r);
      return [r.name, describeRun(r.config), s.steps, opt(s.finalValLoss), s.lastLayerDominance === undefined ? '—' : `${f3(s.lastLayerDominance)} (${s.lastLayerDominant})`, opt(s.lastLayerNEff), opt(s.meanNEff)];
    }),
  );
}

export interface CompareInput {
  run: RunData;
  /** Result sections of this run (diagnostics, probes, SAE), as in its own report. */
  sections: Section[];
}

export function renderCompare(inputs: readonly CompareInput[], title = 'hcprobe comparison'): RenderedReport {
  const runs = inputs.map((i) => i.run);
  const loss = lossCurves(runs, 'compare-loss');
  const byId = new Map<string, { title: string; columns: { heading: string; figures: Figure[]; note: string }[] }>();
  const add = (id: string, sectionTitle: string, col: number, figs: Figure[]) => {
    const s = byId.get(id) ?? {
      title: sectionTitle,
      columns: inputs.map((x) => ({ heading: x.run.name, figures: [] as Figure[], note: x.run.config.model.nStreams <= 1 && id === 'training' ? 'One stream: no shares or mixing to draw.' : 'No such results for this run.' })),
    };
    (s.columns[col] as { figures: Figure[] }).figures.push(...figs.map((f) => withIdPrefix(f, `r${col}`)));
    byId.set(id, s);
  };
  inputs.forEach((x, i) => {
    add('training', 'Training, side by side', i, trainingFigures(x.run).filter((f) => f.id !== 'loss'));
    for (const s of x.sections) add(s.id, s.title, i, [...s.figures, ...(s.columns ?? []).flatMap((c) => c.figures)]);
  });
  const sections: Section[] = [
    { id: 'loss', title: 'Loss', figures: [loss] },
    ...[...byId.entries()].map(([id, s]) => ({ id, title: s.title, figures: [], columns: s.columns })),
  ];
  const html = htmlPage({
    title,
    subtitleHtml: escapeXml(runs.map((r) => `${r.name}: ${describeRun(r.config)}`).join(' · ')),
    summaryHtml: compareTable(runs),
    sections,
  });
  return { html, figures: [loss, ...sections.flatMap((s) => (s.columns ?? []).flatMap((c) => c.figures))] };
}
