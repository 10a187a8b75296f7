#!/usr/bin/env node
// Entry point of the `tearless` command; the CLI is compiled to dist/ by `npm ci` (prepare).
import { main } from '../dist/cli/index.js';

// `tearless predict … | head` closes stdout early: stop quietly instead of crashing.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

await main(process.argv);
