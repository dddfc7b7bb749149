import type { AuditEntry, AuditPage, BulkDryRun, BulkFilter, BulkOperation } from '@sitesaga/http-contracts';
import { formatAge, formatTable, paintWith, printable } from '../terminal/terminal-text';
import type { ViewOptions } from './saga-views';

/** Pure text of `saga bulk` and `saga audit-log`. */

/** `status=FAILED step=ProvisionDatabase`: the filter as options an operator reads. */
export const filterText = (filter: BulkFilter | null): string =>
  filter
    ? Object.entries(filter)
        .map(([key, value]) => `${key}=${printable(String(value))}`)
        .join(' ')
    : '';

const VERB = { retry: 'retried', abort: 'aborted' } as const;

export function renderDryRun(dry: BulkDryRun): string[] {
  const statuses = Object.entries(dry.byStatus)
    .map(([status, count]) => `${count} ${status}`)
    .join(', ');
  const lines = [
    `${dry.matched} sagas match ${filterText(dry.filter)}${statuses ? ` (${statuses})` : ''}`,
    `${dry.actionable} can be ${VERB[dry.action]}; the others would be skipped`,
  ];
  if (dry.sample.length > 0) lines.push(`oldest ${dry.sample.length}:`, ...dry.sample.map((id) => `  ${id}`));
  if (dry.matched > dry.maxSagas) lines.push(`more than ${dry.maxSagas}, the most one bulk operation may select: narrow the filter`);
  return lines;
}

export const progressLine = (bulk: BulkOperation): string =>
  `bulk ${bulk.action} ${bulk.id}: ${bulk.status}, ${bulk.done + bulk.skipped + bulk.failed}/${bulk.selected} handled (${bulk.done} done, ${bulk.skipped} skipped, ${bulk.failed} failed)` +
  (bulk.interruptions > 0 ? `, resumed ${bulk.interruptions}×` : '');

export function renderBulk(bulk: BulkOperation, options: ViewOptions): string[] {
  return [
    progressLine(bulk),
    `  by ${printable(bulk.operator)} ${formatAge(new Date(bulk.createdAt), options.now)} ago, ${bulk.ratePerSecond}/s, filter ${filterText(bulk.filter)}`,
    ...(bulk.reason ? [`  reason: ${printable(bulk.reason)}`] : []),
  ];
}

export function renderBulkList(items: readonly BulkOperation[], options: ViewOptions): string[] {
  if (items.length === 0) return ['no bulk operations'];
  return formatTable(
    [
      { title: 'CREATED' },
      { title: 'BULK' },
      { title: 'ACTION' },
      { title: 'STATUS' },
      { title: 'BY' },
      { title: 'DONE', align: 'right' },
      { title: 'SKIP', align: 'right' },
      { title: 'FAIL', align: 'right' },
      { title: 'LEFT', align: 'right' },
      { title: 'FILTER' },
    ],
    items.map((bulk) => [
      formatAge(new Date(bulk.createdAt), options.now),
      bulk.id,
      bulk.action,
      bulk.status,
      printable(bulk.operator),
      String(bulk.done),
      String(bulk.skipped),
      String(bulk.failed),
      String(bulk.pending),
      filterText(bulk.filter),
    ]),
  );
}

const whatOf = (entry: AuditEntry): string => {
  if (entry.sagaId) return `saga ${entry.sagaId}`;
  const bulk = entry.bulk
    ? ` ${entry.bulk.status} ${entry.bulk.done}/${entry.bulk.skipped}/${entry.bulk.failed} of ${entry.bulk.selected} (done/skipped/failed)`
    : '';
  return `${filterText(entry.filter)}${bulk}`;
};

/** `saga audit-log`: one line per entry. */
export function renderAuditLog(page: AuditPage, options: ViewOptions): string[] {
  if (page.items.length === 0) return ['no audit entries'];
  const paint = paintWith(options.color ?? false);
  return formatTable(
    [{ title: 'AT' }, { title: 'OPERATOR' }, { title: 'ACTION' }, { title: 'OUTCOME' }, { title: 'WHAT' }, { title: 'DETAIL' }],
    page.items.map((entry) => [
      entry.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      printable(entry.operator),
      entry.action,
      paint(entry.outcome === 'accepted' || entry.outcome === 'started' ? 'green' : 'red', entry.outcome),
      whatOf(entry),
      printable([entry.reason ? `reason: ${entry.reason}` : '', entry.detail ?? ''].filter(Boolean).join('; ')),
    ]),
    paint,
  );
}
