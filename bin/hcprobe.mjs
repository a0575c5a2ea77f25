#!/usr/bin/env node
// Entry point: runs the TypeScript sources through tsx, so no build step stands between
// `npm install` and `npx hcprobe`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv);
