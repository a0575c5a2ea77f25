#!/usr/bin/env node
// Entry point: runs the TypeScript sources through tsx, so no build step stands between
// `npm install` and `npx hcprobe`.
import { register } from 'tsx/esm/api';

// A reader that stops early (`hcprobe inspect acts/t | head -3`) closes the pipe: end as a Unix
// tool killed by SIGPIPE does (exit 128 + 13, nothing on stderr), not with a stack trace.
const EXIT_SIGPIPE = 141;
process.stdout.on('error', (e) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(EXIT_SIGPIPE);
});

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv);
