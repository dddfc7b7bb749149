import { watchAdminStream } from '../admin/admin-stream';
import type { SagaSummary } from '../admin/admin-views';
import type { Invocation } from '../arguments/command-line';
import { tailLine } from '../views/saga-views';
import { adminClientOf, type CliContext, colourOf, configOf } from './command-context';

type TailInvocation = Extract<Invocation, { command: 'tail' }>;

export const matchesTail = (invocation: Pick<TailInvocation, 'status' | 'type' | 'siteName'>, summary: SagaSummary): boolean =>
  (!invocation.status || summary.status === invocation.status) &&
  (!invocation.type || summary.type === invocation.type) &&
  (!invocation.siteName || summary.siteName === invocation.siteName);

/**
 * `saga tail`: one line per saga change from the admin stream, until Ctrl-C (exit 0).
 * A broken stream is reopened; notes about it go to stderr so stdout stays one line per change.
 */
export async function tailCommand(invocation: TailInvocation, context: CliContext): Promise<number> {
  const client = adminClientOf(configOf(invocation, context), context);
  const colour = colourOf(invocation, context);
  let opened = 0;
  // The stream may send a version again (its poll looks back a little): print each once.
  const printed = new Map<string, number>();
  await watchAdminStream(
    client,
    {
      onOpen: () => {
        opened += 1;
        context.stderr.write(opened === 1 ? `watching ${client.url}/admin/stream (Ctrl-C to stop)\n` : 'live stream reconnected (changes meanwhile may be missing: saga list)\n');
      },
      onSaga: (summary) => {
        if (!matchesTail(invocation, summary) || (printed.get(summary.id) ?? -1) >= summary.version) return;
        if (printed.size > 10_000) printed.clear();
        printed.set(summary.id, summary.version);
        context.stdout.write(`${invocation.json ? JSON.stringify(summary) : tailLine(summary, { color: colour })}\n`);
      },
      onDrop: (error, retryInMs) => context.stderr.write(`live stream lost (${(error as Error).message}); reconnecting in ${Math.round(retryInMs / 1000)} s\n`),
    },
    context.interrupt,
    { failFirstConnect: true },
  );
  return 0;
}
