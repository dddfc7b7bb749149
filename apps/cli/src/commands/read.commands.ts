import type { SagaSummary } from '../admin/admin-views';
import type { Invocation } from '../arguments/command-line';
import { writeLines } from '../terminal/output';
import { renderSagaDetail, renderSagaList, renderStats } from '../views/saga-views';
import { adminClientOf, type CliContext, colourOf, configOf, follow } from './command-context';

type Of<C extends string> = Extract<Invocation, { command: C }>;

const PAGE_MAX = 200; // the admin API's own limit per request

/** `saga list`: newest first; more than one page of the API when --limit asks for it. */
export async function listCommand(invocation: Of<'list'>, context: CliContext): Promise<number> {
  const client = adminClientOf(configOf(invocation, context), context);
  const items: SagaSummary[] = [];
  let cursor = invocation.cursor ?? null;
  let first = true;
  while (items.length < invocation.limit && (first || cursor)) {
    first = false;
    const page = await client.list({
      ...(invocation.status ? { status: invocation.status } : {}),
      ...(invocation.type ? { type: invocation.type } : {}),
      ...(invocation.siteName ? { siteName: invocation.siteName } : {}),
      limit: Math.min(PAGE_MAX, invocation.limit - items.length),
      ...(cursor ? { cursor } : {}),
    });
    items.push(...page.items);
    cursor = page.nextCursor;
    if (page.items.length === 0) break;
  }
  if (invocation.json) {
    context.stdout.write(`${JSON.stringify({ items, nextCursor: cursor }, null, 2)}\n`);
    return 0;
  }
  writeLines(context.stdout, renderSagaList({ items, nextCursor: cursor }, { now: context.now(), color: colourOf(invocation, context) }));
  if (cursor) context.stderr.write(`more: saga list --cursor ${cursor}${invocation.status ? ` --status ${invocation.status}` : ''}${invocation.type ? ` --type ${invocation.type}` : ''}\n`);
  return 0;
}

/** `saga show <id>`: the detail once, or `--follow` live until the saga ends. */
export async function showCommand(invocation: Of<'show'>, context: CliContext): Promise<number> {
  const client = adminClientOf(configOf(invocation, context), context);
  if (invocation.follow) return follow(client, invocation.sagaId, invocation, context);
  const detail = await client.detail(invocation.sagaId);
  if (invocation.json) context.stdout.write(`${JSON.stringify(detail, null, 2)}\n`);
  else writeLines(context.stdout, renderSagaDetail(detail, { now: context.now(), color: colourOf(invocation, context) }));
  return 0;
}

const accepted = (action: string, summary: SagaSummary): string =>
  `${action} accepted: saga ${summary.id} is ${summary.status}${summary.currentStep ? `, at ${summary.currentStep}` : ''}`;

/** `saga retry <id>`. */
export async function retryCommand(invocation: Of<'retry'>, context: CliContext): Promise<number> {
  const client = adminClientOf(configOf(invocation, context), context);
  const summary = await client.retry(invocation.sagaId);
  if (invocation.json && !invocation.follow) context.stdout.write(`${JSON.stringify(summary)}\n`);
  else if (!invocation.json) context.stdout.write(`${accepted('retry', summary)}\n`);
  return invocation.follow ? follow(client, invocation.sagaId, invocation, context) : 0;
}

/** `saga abort <id> [--reason]`. */
export async function abortCommand(invocation: Of<'abort'>, context: CliContext): Promise<number> {
  const client = adminClientOf(configOf(invocation, context), context);
  const summary = await client.abort(invocation.sagaId, invocation.reason);
  if (invocation.json && !invocation.follow) context.stdout.write(`${JSON.stringify(summary)}\n`);
  else if (!invocation.json) context.stdout.write(`${accepted('abort', summary)}\n`);
  return invocation.follow ? follow(client, invocation.sagaId, invocation, context) : 0;
}

/** `saga stats`. */
export async function statsCommand(invocation: Of<'stats'>, context: CliContext): Promise<number> {
  const stats = await adminClientOf(configOf(invocation, context), context).stats();
  if (invocation.json) context.stdout.write(`${JSON.stringify(stats, null, 2)}\n`);
  else writeLines(context.stdout, renderStats(stats, { now: context.now(), color: colourOf(invocation, context) }));
  return 0;
}
