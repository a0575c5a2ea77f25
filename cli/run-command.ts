// The boundary between the CLI and the library: maps ConfigError to exit 2 and anything
// else to exit 1 with a bug report hint, and shuts the backend down so the process can exit.
import { shutdownBackend } from '../src/engine/backend.ts';
import { ConfigError } from '../src/errors.ts';

export const EXIT_OK = 0;
export const EXIT_BUG = 1;
export const EXIT_USAGE = 2;
/** A run that could not finish for a reason that is neither bad input nor a bug (a diverged loss). */
export const EXIT_RUN_FAILED = 3;

/** `expected` maps error class names to exit codes for failures a command anticipates. */
export async function runCommand(body: () => Promise<void>, expected: Record<string, number> = {}): Promise<number> {
  try {
    await body();
    return EXIT_OK;
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`hcprobe: ${e.message}\n`);
      return EXIT_USAGE;
    }
    const code = e instanceof Error ? expected[e.name] : undefined;
    if (code !== undefined) {
      process.stderr.write(`hcprobe: ${(e as Error).message}\n`);
      return code;
    }
    process.stderr.write(`hcprobe: internal error (please report it):\n${(e as Error).stack ?? String(e)}\n`);
    return EXIT_BUG;
  } finally {
    shutdownBackend();
  }
}
