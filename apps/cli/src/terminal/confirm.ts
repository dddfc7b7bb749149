import { createInterface } from 'node:readline/promises';

/** Asks on the terminal; only `y` or `yes` (any case) is a yes. */
export async function confirmOnTerminal(question: string): Promise<boolean> {
  const terminal = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await terminal.question(question)).trim());
  } finally {
    terminal.close();
  }
}
