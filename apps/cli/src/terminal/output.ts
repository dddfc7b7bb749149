/** Where the CLI writes: process.stdout and process.stderr, or a buffer in tests. */
export interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export const writeLines = (output: Output, lines: readonly string[]): void => {
  if (lines.length > 0) output.write(`${lines.join('\n')}\n`);
};
