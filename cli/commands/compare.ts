// `hcprobe compare runs/A runs/B ...`: the runs' figures side by side in one HTML page with a
// table of final validation loss, dominance and N_eff; SVGs beside it as for `hcprobe report`.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigError } from '../../src/errors.ts';
import { type CompareInput, renderCompare } from '../../reports/compare-report.ts';
import { runCommand } from '../run-command.ts';
import { assertReportWritable, defaultResultsDir, loadResults, loadRun, writeReport } from '../../api/report-files.ts';

type Opts = Record<string, string | boolean | undefined>;

/** Each run with the results found beside it (results/NAME), as `hcprobe report` finds them. */
export function compareInputs(runDirs: readonly string[]): CompareInput[] {
  return runDirs.map((dir) => {
    const run = loadRun(dir);
    const res = defaultResultsDir(dir);
    return { run, sections: existsSync(res) ? loadResults(res, run).sections : [] };
  });
}

export function registerCompare(program: Command, setExit: (code: number) => void): void {
  program
    .command('compare')
    .description('compare runs side by side in one HTML page (figures, final validation loss, dominance, N_eff)')
    .argument('<runs...>', 'run directories (runs/A runs/B ...)')
    .requiredOption('--out <file>', 'HTML file to write, e.g. compare.html')
    .option('--force', 'overwrite an existing page')
    .action(async (runs: string[], o: Opts) => {
      setExit(
        await runCommand(async () => {
          if (runs.length < 2) throw new ConfigError(`compare needs at least two runs, got ${runs.length}`);
          const out = o.out as string;
          const force = o.force === true;
          assertReportWritable(out, force);
          const inputs = compareInputs(runs);
          // Two runs of the same folder name would share a heading: number them.
          const names = inputs.map((i) => i.run.name);
          for (const [k, i] of inputs.entries()) if (names.indexOf(i.run.name) !== k) i.run = { ...i.run, name: `${i.run.name} (${k + 1})` };
          const w = writeReport(out, renderCompare(inputs), force);
          process.stderr.write(`compare: ${runs.length} runs; SVGs in ${w.dir}\n`);
          process.stdout.write(`${w.html}\n`);
        }),
      );
    });
}
