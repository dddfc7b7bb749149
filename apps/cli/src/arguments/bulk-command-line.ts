import { BULK_LIMITS } from '@sitesaga/http-contracts';
import { UsageError } from '../cli-errors';
import type { SagaStatus } from '../admin/admin-views';
import type { CommonOptions, OptionSpec } from './command-line';
import { statusOption } from './command-line';

/*
 * `saga bulk retry|abort <filters>` and `saga audit-log`: their rows of the command table
 * and how their options become an invocation. The server checks everything again.
 */

const adminOptions: Record<string, OptionSpec> = {
  'admin-url': { type: 'string', value: 'url', description: 'admin API of site-saga (ADMIN_URL, default http://localhost:3000)' },
  token: { type: 'string', value: 'token', description: 'admin token (ADMIN_TOKEN; prefer the variable: arguments show in ps)' },
};
const common: Record<string, OptionSpec> = {
  json: { type: 'boolean', description: 'print the raw JSON instead of text' },
  'no-color': { type: 'boolean', description: 'no colours (also NO_COLOR=1)' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export const BULK_COMMANDS = {
  bulk: {
    summary: 'retry or abort every saga a filter matches, at a bounded rate (dry run first)',
    positionals: ['retry|abort|status', 'bulkId?'],
    options: {
      status: { type: 'string', value: 'status', description: 'sagas in this status, e.g. FAILED' },
      type: { type: 'string', value: 'type', description: 'sagas of this type: CreateSite, DeleteSite' },
      'site-name': { type: 'string', value: 'name', description: 'sagas of this site name' },
      step: { type: 'string', value: 'step', description: 'sagas that failed at, or are running, compensating or stuck at this step' },
      error: { type: 'string', value: 'text', description: "sagas whose failure reason or a step's error contains this text" },
      'created-from': { type: 'string', value: 'time', description: 'created at or after (ISO 8601, e.g. 2026-01-31T12:00:00Z)' },
      'created-before': { type: 'string', value: 'time', description: 'created before (ISO 8601)' },
      'dry-run': { type: 'boolean', description: 'only count: how many match, by status, and some of their ids' },
      rate: { type: 'string', value: 'n', description: `sagas per second (1-${BULK_LIMITS.ratePerSecond.max}, default ${BULK_LIMITS.ratePerSecond.default})` },
      reason: { type: 'string', value: 'text', description: 'why (required for abort; at most 500 characters)' },
      yes: { type: 'boolean', short: 'y', description: 'start without asking (needed when not on a terminal)' },
      detach: { type: 'boolean', description: 'start it and return; follow with saga bulk status <id>' },
      ...adminOptions,
      ...common,
    },
    examples: [
      'saga bulk retry --status FAILED --step ProvisionDatabase --dry-run',
      'saga bulk retry --status FAILED --step ProvisionDatabase --rate 5',
      "saga bulk abort --status RUNNING --type CreateSite --created-before 2026-01-31T00:00:00Z --reason 'stuck since the outage' --yes",
      'saga bulk status 0b7c…   (progress of one bulk; saga bulk status: the recent ones)',
    ],
  },
  'audit-log': {
    summary: 'what operators did: retries, aborts, bulk operations and orphan repairs, newest first',
    positionals: [],
    options: {
      operator: { type: 'string', value: 'name', description: 'only this operator (admin, or an ADMIN_TOKENS name)' },
      action: { type: 'string', value: 'action', description: 'only retry, abort, bulk-retry, bulk-abort, bulk-cancel or orphan-repair' },
      saga: { type: 'string', value: 'sagaId', description: 'only entries about this saga' },
      limit: { type: 'string', value: 'n', description: `how many (1-${BULK_LIMITS.page.max}, default 20)` },
      cursor: { type: 'string', value: 'cursor', description: 'start after this point (printed under a full page)' },
      ...adminOptions,
      ...common,
    },
    examples: ['saga audit-log', 'saga audit-log --operator alice --action bulk-retry --json'],
  },
} as const;

export interface BulkFilterOptions {
  readonly status?: SagaStatus;
  readonly type?: string;
  readonly siteName?: string;
  readonly step?: string;
  readonly error?: string;
  readonly createdFrom?: string;
  readonly createdBefore?: string;
}

export type BulkInvocation =
  | ({
      readonly command: 'bulk';
      readonly action: 'retry' | 'abort';
      readonly filter: BulkFilterOptions;
      readonly dryRun: boolean;
      readonly rate?: number;
      readonly reason?: string;
      readonly yes: boolean;
      readonly detach: boolean;
    } & CommonOptions)
  | ({ readonly command: 'bulk'; readonly action: 'status'; readonly bulkId?: string } & CommonOptions)
  | ({
      readonly command: 'audit-log';
      readonly operator?: string;
      readonly auditAction?: string;
      readonly sagaId?: string;
      readonly limit: number;
      readonly cursor?: string;
    } & CommonOptions);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const defined = <T extends object>(object: T): T => Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;

export function parseBulkCommand(
  command: 'bulk' | 'audit-log',
  values: Record<string, unknown>,
  positionals: readonly string[],
  shared: CommonOptions,
): BulkInvocation {
  const usage = (message: string): never => {
    throw new UsageError(`${command}: ${message}`, [`see: saga ${command} --help`]);
  };
  if (command === 'audit-log') {
    const limitText = text(values.limit);
    const limit = limitText === undefined ? 20 : /^[0-9]{1,3}$/.test(limitText) ? Number(limitText) : NaN;
    if (!(limit >= 1 && limit <= BULK_LIMITS.page.max)) usage(`--limit must be an integer from 1 to ${BULK_LIMITS.page.max}, got "${limitText}"`);
    const sagaId = text(values.saga);
    if (sagaId !== undefined && !UUID.test(sagaId)) usage(`--saga must be a uuid, got "${sagaId}"`);
    return {
      command,
      limit,
      ...defined({ operator: text(values.operator), auditAction: text(values.action), sagaId, cursor: text(values.cursor) }),
      ...shared,
    };
  }
  const [action, bulkId, ...extra] = positionals;
  if (action === 'status') {
    if (bulkId !== undefined && !UUID.test(bulkId)) usage(`status: <bulkId> must be a uuid, got "${bulkId}"`);
    if (extra.length > 0) usage(`unexpected argument "${extra[0]}"`);
    return { command, action, ...(bulkId ? { bulkId: bulkId.toLowerCase() } : {}), ...shared };
  }
  if (action !== 'retry' && action !== 'abort') return usage(`expected retry, abort or status, got ${action === undefined ? 'nothing' : `"${action}"`}`);
  if (bulkId !== undefined) usage(`unexpected argument "${bulkId}"`);
  const filter: BulkFilterOptions = defined({
    status: statusOption('bulk', text(values.status)),
    type: text(values.type),
    siteName: text(values['site-name']),
    step: text(values.step),
    error: text(values.error),
    createdFrom: text(values['created-from']),
    createdBefore: text(values['created-before']),
  });
  if (Object.keys(filter).length === 0) usage('give at least one filter: --status, --type, --site-name, --step, --error, --created-from, --created-before');
  const rateText = text(values.rate);
  const rate = rateText === undefined ? undefined : /^[0-9]{1,3}$/.test(rateText) ? Number(rateText) : NaN;
  if (rate !== undefined && !(rate >= 1 && rate <= BULK_LIMITS.ratePerSecond.max))
    usage(`--rate must be an integer from 1 to ${BULK_LIMITS.ratePerSecond.max}, got "${rateText}"`);
  const reason = text(values.reason);
  if (reason !== undefined && (reason.trim() === '' || reason.length > 500)) usage('--reason must be 1 to 500 characters');
  if (action === 'abort' && reason === undefined && values['dry-run'] !== true)
    usage('abort needs --reason: it is recorded with each saga and in the audit log');
  return {
    command,
    action,
    filter,
    dryRun: values['dry-run'] === true,
    yes: values.yes === true,
    detach: values.detach === true,
    ...(rate !== undefined ? { rate } : {}),
    ...(reason !== undefined ? { reason } : {}),
    ...shared,
  };
}
