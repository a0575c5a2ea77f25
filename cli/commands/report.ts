// `hcprobe report`: one self-contained HTML report of a run (or of a checkpoint alone) and its
// results, with each figure also written as an SVG file beside it (REPORT_files/ID.svg);
// written atomically.
import type { Command } from 'commander';
import { ConfigError, shown } from '../../src/errors.ts';
import { assertReportWritable, renderReportFor, writeReport } from '../../api/report-files.ts';
import { runCommand } from '../run-command.ts';

type Opts = Record<string, string | boolean | undefined>;

export function registerReport(program: Command, setExit: (code: number) => void): void {
  program
    .command('report')
    .description('write one self-contained HTML report of a run or a checkpoint (and its results), with the figures as SVG files beside it')
    .option('--run <dir>', 'training run (runs/NAME)')
    .option('--checkpoint <file>', 'a model .safetensors without its run (instead of --run): no training curves; needs --results')
    .option('--results <dir>', 'results folder (default: results/NAME beside runs/NAME)')
    .requiredOption('--out <file>', 'HTML file to write, e.g. report.html')
    .option('--force', 'overwrite an existing report')
    .action(async (o: Opts) => {
      setExit(
        await runCommand(async () => {
          const out = o.out as string;
          const force = o.force === true;
          const run = typeof o.run === 'string' ? o.run : undefined;
          const checkpoint = typeof o.checkpoint === 'string' ? o.checkpoint : undefined;
          if ((run === undefined) === (checkpoint === undefined)) {
            throw new ConfigError(run === undefined ? 'pass --run DIR or --checkpoint FILE: the report needs a model' : `pass one of --run ${shown(run)} and --checkpoint ${shown(checkpoint)}, not both`);
          }
          assertReportWritable(out, force);
          const r = renderReportFor(run ?? { checkpoint: checkpoint as string }, typeof o.results === 'string' ? o.results : undefined);
          for (const note of r.warnings) process.stderr.write(`hcprobe: note: ${note}\n`);
          const w = writeReport(out, r, force);
          process.stderr.write(`report: ${r.figures.length} figures${r.found.length ? ` (results: ${r.found.join(', ')})` : run ? ' (training metrics only)' : ' (no results found)'}; SVGs in ${w.dir}\n`);
          process.stdout.write(`${w.html}\n`);
        }),
      );
    });
}
