// The hcprobe command-line program. Commander parses; each command's parse function turns
// its options into typed arguments (pure, testable); runCommand maps errors to exit codes.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerBenchStep } from './commands/bench-step.ts';
import { registerCapture } from './commands/capture.ts';
import { registerDiagnose } from './commands/diagnose.ts';
import { registerProbe } from './commands/probe.ts';
import { registerForward } from './commands/forward.ts';
import { registerReport } from './commands/report.ts';
import { registerSae } from './commands/sae.ts';
import { registerSweep } from './commands/sweep.ts';
import { registerTrain } from './commands/train.ts';
import { registerCompare } from './commands/compare.ts';
import { registerDemo } from './commands/demo.ts';
import { registerPerplexity } from './commands/perplexity.ts';
import { registerSample } from './commands/sample.ts';
import { EXIT_USAGE } from './run-command.ts';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('hcprobe')
    .description('Train hyper-connection language models, capture per-stream activations, probe, train SAEs and report whether the streams collapse.')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerForward(program, setExit);
  registerTrain(program, setExit, pkg.version);
  registerCapture(program, setExit);
  registerDiagnose(program, setExit);
  registerProbe(program, setExit);
  registerBenchStep(program, setExit);
  registerSae(program, setExit);
  registerReport(program, setExit);
  registerSweep(program, setExit);
  registerCompare(program, setExit);
  registerDemo(program, setExit);
  registerSample(program, setExit);
  registerPerplexity(program, setExit);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit 0; every usage error is the user's to fix: exit 2.
      return e.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    throw e;
  }
  return code;
}
