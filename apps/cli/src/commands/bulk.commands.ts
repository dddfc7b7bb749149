import type { BulkOperation } from '@sitesaga/http-contracts';
import type { BulkInvocation } from '../arguments/bulk-command-line';
import { ExitCode, Interrupted, UsageError } from '../cli-errors';
import { writeLines } from '../terminal/output';
import { progressLine, renderAuditLog, renderBulk, renderBulkList, renderDryRun } from '../views/bulk-views';
import { adminClientOf, type CliContext, colourOf, configOf } from './command-context';

type Of<A extends string> = Extract<BulkInvocation, { action: A }>;
const POLL_MS = 1_000;

/** `saga bulk retry|abort|status`. */
export async function bulkCommand(invocation: Extract<BulkInvocation, { command: 'bulk' }>, context: CliContext): Promise<number> {
  if (invocation.action === 'status') return bulkStatus(invocation, context);
  const client = adminClientOf(configOf(invocation, context), context);
  const request = { action: invocation.action, filter: invocation.filter, ...(invocation.reason !== undefined ? { reason: invocation.reason } : {}) };
  // Always counted first: the operator sees what a start would touch before anything changes.
  const dry = await client.bulkDryRun(request);
  if (invocation.dryRun) {
    if (invocation.json) context.stdout.write(`${JSON.stringify(dry, null, 2)}\n`);
    else writeLines(context.stdout, renderDryRun(dry));
    return ExitCode.ok;
  }
  if (!invocation.json) writeLines(context.stdout, renderDryRun(dry));
  if (!invocation.yes) {
    const question = `${invocation.action} these ${dry.matched} sagas at ${invocation.rate ?? 'the default rate of 10'} per second? [y/N] `;
    if (!context.confirm) throw new UsageError('not confirmed: no terminal to ask on; add --yes to start it', ['see: saga bulk --help']);
    if (!(await context.confirm(question))) {
      context.stderr.write('not started\n');
      return ExitCode.failed;
    }
  }
  const started = await client.bulkStart({ ...request, ...(invocation.rate !== undefined ? { ratePerSecond: invocation.rate } : {}) });
  if (invocation.detach) {
    if (invocation.json) context.stdout.write(`${JSON.stringify(started)}\n`);
    else context.stdout.write(`started: ${progressLine(started)}\nfollow it: saga bulk status ${started.id}\n`);
    return ExitCode.ok;
  }
  return watch(started, invocation, context);
}

/** Polls the bulk until it finishes, one line per change; Ctrl-C stops watching, not the bulk. */
async function watch(started: BulkOperation, invocation: Of<'retry' | 'abort'>, context: CliContext): Promise<number> {
  const client = adminClientOf(configOf(invocation, context), context);
  let bulk = started;
  let shown = '';
  try {
    for (;;) {
      const line = progressLine(bulk);
      if (!invocation.json && line !== shown) context.stdout.write(`${line}\n`);
      shown = line;
      if (bulk.status !== 'running') break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        context.interrupt.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
      if (context.interrupt.aborted) throw new Interrupted();
      bulk = await client.bulk(bulk.id);
    }
  } catch (error) {
    if (error instanceof Interrupted) context.stderr.write(`stopped watching; the bulk goes on: saga bulk status ${bulk.id}\n`);
    throw error;
  }
  if (invocation.json) context.stdout.write(`${JSON.stringify(bulk)}\n`);
  return bulk.failed > 0 || bulk.status === 'cancelled' ? ExitCode.failed : ExitCode.ok;
}

async function bulkStatus(invocation: Of<'status'>, context: CliContext): Promise<number> {
  const client = adminClientOf(configOf(invocation, context), context);
  const options = { now: context.now(), color: colourOf(invocation, context) };
  if (invocation.bulkId) {
    const bulk = await client.bulk(invocation.bulkId);
    if (invocation.json) context.stdout.write(`${JSON.stringify(bulk, null, 2)}\n`);
    else writeLines(context.stdout, renderBulk(bulk, options));
    return ExitCode.ok;
  }
  const page = await client.bulks(20);
  if (invocation.json) context.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
  else writeLines(context.stdout, renderBulkList(page.items, options));
  return ExitCode.ok;
}

/** `saga audit-log`. */
export async function auditLogCommand(invocation: Extract<BulkInvocation, { command: 'audit-log' }>, context: CliContext): Promise<number> {
  const client = adminClientOf(configOf(invocation, context), context);
  const page = await client.auditLog({
    limit: invocation.limit,
    ...(invocation.operator ? { operator: invocation.operator } : {}),
    ...(invocation.auditAction ? { action: invocation.auditAction } : {}),
    ...(invocation.sagaId ? { sagaId: invocation.sagaId } : {}),
    ...(invocation.cursor ? { cursor: invocation.cursor } : {}),
  });
  if (invocation.json) {
    context.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
    return ExitCode.ok;
  }
  writeLines(context.stdout, renderAuditLog(page, { now: context.now(), color: colourOf(invocation, context) }));
  if (page.nextCursor) context.stderr.write(`more: saga audit-log --cursor ${page.nextCursor}\n`);
  return ExitCode.ok;
}
