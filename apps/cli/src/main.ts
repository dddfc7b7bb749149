#!/usr/bin/env node
/**
 * `saga`: the operators' command line (apps/cli/README.md). Wires the process: argv,
 * stdout/stderr, Ctrl-C (the first stops what runs and exits 130; a second forces it).
 */
import { restoreCursor } from './progress/progress-view';
import { confirmOnTerminal } from './terminal/confirm';
import { runCli } from './saga-cli';

const interrupt = new AbortController();
let interrupts = 0;
const onSignal = () => {
  interrupts += 1;
  if (interrupts > 1) {
    restoreCursor(process.stdout);
    process.exit(130);
  }
  interrupt.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// `saga list | head`: a closed pipe ends the output, it is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

void runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  interrupt: interrupt.signal,
  now: () => new Date(),
  ...(process.stdin.isTTY && process.stdout.isTTY ? { confirm: confirmOnTerminal } : {}),
}).then((code) => {
  restoreCursor(process.stdout);
  process.exitCode = code;
  // Idle keep-alive sockets must not hold the process (they rarely do; this makes sure).
  setTimeout(() => process.exit(code), 2_000).unref();
});
