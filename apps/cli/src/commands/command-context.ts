import { AdminClient } from '../admin/admin-client';
import { isTerminalStatus, type SagaDetail } from '../admin/admin-views';
import type { CommonOptions } from '../arguments/command-line';
import { type CliConfig, configFrom } from '../cli-config';
import { ExitCode } from '../cli-errors';
import { followSaga } from '../progress/follow-saga';
import { ProgressView } from '../progress/progress-view';
import type { Output } from '../terminal/output';

/** What a command may use: its streams, environment, clock and the Ctrl-C signal. */
export interface CliContext {
  readonly stdout: Output;
  readonly stderr: Output;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Aborted on Ctrl-C. */
  readonly interrupt: AbortSignal;
  readonly now: () => Date;
  /** Asks a yes/no question on the terminal; absent when there is none (then `--yes` is needed). */
  readonly confirm?: (question: string) => Promise<boolean>;
}

export function configOf(options: CommonOptions & { sitesUrl?: string }, context: CliContext): CliConfig {
  return configFrom(
    context.env,
    {
      ...(options.adminUrl !== undefined ? { adminUrl: options.adminUrl } : {}),
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.sitesUrl !== undefined ? { sitesUrl: options.sitesUrl } : {}),
    },
    context.cwd,
  );
}

export const adminClientOf = (config: CliConfig, context: CliContext): AdminClient => new AdminClient(config.adminUrl, config.adminToken, context.interrupt);

/** Colours only on a terminal, and never with --no-color, NO_COLOR or TERM=dumb. */
export const colourOf = (options: CommonOptions, context: CliContext): boolean =>
  !options.noColor && !context.env.NO_COLOR && context.env.TERM !== 'dumb' && context.stdout.isTTY === true;

/** 0 for COMPLETED, 1 for COMPENSATED or FAILED. */
export const exitCodeOf = (detail: SagaDetail): number => (detail.status === 'COMPLETED' ? ExitCode.ok : isTerminalStatus(detail.status) ? ExitCode.failed : ExitCode.ok);

/**
 * `--follow`: the live view (redrawn on a terminal, appended lines otherwise) until the
 * saga ends; with --json, only the final detail as one JSON line.
 */
export async function follow(client: AdminClient, sagaId: string, options: CommonOptions, context: CliContext, waitingMessage?: string): Promise<number> {
  const output: Output = options.json ? { write: () => undefined } : context.stdout;
  const view = new ProgressView(output, { live: !options.json && context.stdout.isTTY === true, color: colourOf(options, context), now: context.now });
  const detail = await followSaga(client, sagaId, view, context.interrupt, waitingMessage ? { waitingMessage } : {});
  if (options.json) context.stdout.write(`${JSON.stringify(detail)}\n`);
  return exitCodeOf(detail);
}
