import { AUDIT_ACTIONS, BULK_ITEM_OUTCOMES, BULK_LIMITS, type BulkFilter, bulkRequest, type BulkRequest, fieldErrorsOf } from '@sitesaga/http-contracts';
import { OPERATOR_NAME } from '@sitesaga/service';
import type { SagaSelection } from '@sitesaga/saga';
import { type FieldError, invalidRequest } from '../admin-request-validation';

/**
 * Pure checks of the bulk and audit routes' input. A refusal is a 400 `{ message, errors:
 * [{ field, message }] }` naming the field (`filter.status`, `reason`, `limit`).
 */

export function validateBulkRequest(body: unknown): BulkRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidRequest('invalid request body', [{ field: '(body)', message: 'must be a JSON object { action, filter, dryRun?, ratePerSecond?, reason? }' }]);
  }
  const parsed = bulkRequest.safeParse(body);
  if (!parsed.success) throw invalidRequest('invalid bulk request', fieldErrorsOf(parsed.error));
  return parsed.data;
}

/** The engine's selection of a validated filter. */
export const selectionOf = (filter: BulkFilter): SagaSelection => ({
  ...(filter.status ? { status: filter.status } : {}),
  ...(filter.type ? { type: filter.type } : {}),
  ...(filter.siteName ? { searchKey: filter.siteName } : {}),
  ...(filter.step ? { step: filter.step } : {}),
  ...(filter.error ? { errorContains: filter.error } : {}),
  ...(filter.createdFrom ? { createdFrom: new Date(filter.createdFrom) } : {}),
  ...(filter.createdBefore ? { createdBefore: new Date(filter.createdBefore) } : {}),
});

/** The filter with its keys in one order: the same filter is the same text (one running bulk per action and filter). */
export function canonicalFilter(filter: BulkFilter): BulkFilter {
  const keys = Object.keys(filter).sort() as (keyof BulkFilter)[];
  return Object.fromEntries(keys.filter((key) => filter[key] !== undefined).map((key) => [key, filter[key]])) as BulkFilter;
}

export interface PageQuery {
  readonly limit: number;
  /** The id (audit log) or position/created_at key the next page starts below. */
  readonly cursor?: string;
}

type Check = (value: string) => string | null;

/** Query parameters: each known one at most once, empty means "any", a refusal names every bad one. */
function readQuery(query: Record<string, unknown>, checks: Record<string, Check>): Record<string, string> {
  const errors: FieldError[] = [];
  const given: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) {
    const check = checks[key];
    if (!check) errors.push({ field: key, message: 'unknown query parameter' });
    else if (typeof value !== 'string') errors.push({ field: key, message: 'must be given once, as a plain value' });
    else if (value !== '') {
      const problem = check(value);
      if (problem) errors.push({ field: key, message: problem });
      else given[key] = value;
    }
  }
  if (errors.length > 0) throw invalidRequest('invalid query', errors);
  return given;
}

const limitCheck: Check = (value) =>
  /^[0-9]{1,4}$/.test(value) && Number(value) >= 1 && Number(value) <= BULK_LIMITS.page.max ? null : `must be an integer from 1 to ${BULK_LIMITS.page.max}`;
const idCursor: Check = (value) => (/^[1-9][0-9]{0,17}$/.test(value) ? null : 'is not a cursor this endpoint handed out');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const oneOf =
  (values: readonly string[]): Check =>
  (value) =>
    values.includes(value) ? null : `must be one of ${values.join(', ')}`;

const pageOf = (given: Record<string, string>): PageQuery => ({
  limit: given.limit ? Number(given.limit) : BULK_LIMITS.page.default,
  ...(given.cursor ? { cursor: given.cursor } : {}),
});

export interface AuditLogQuery extends PageQuery {
  readonly operator?: string;
  readonly action?: (typeof AUDIT_ACTIONS)[number];
  readonly sagaId?: string;
}

export function validateAuditLogQuery(query: Record<string, unknown>): AuditLogQuery {
  const given = readQuery(query, {
    operator: (value) => (OPERATOR_NAME.test(value) ? null : 'must be an operator name (letters, digits, ._@-; at most 64)'),
    action: oneOf(AUDIT_ACTIONS),
    sagaId: (value) => (UUID.test(value) ? null : 'must be a uuid'),
    limit: limitCheck,
    cursor: idCursor,
  });
  return {
    ...pageOf(given),
    ...(given.operator ? { operator: given.operator } : {}),
    ...(given.action ? { action: given.action as AuditLogQuery['action'] & string } : {}),
    ...(given.sagaId ? { sagaId: given.sagaId.toLowerCase() } : {}),
  };
}

export function validateBulkListQuery(query: Record<string, unknown>): PageQuery {
  // The cursor is the `<created_at micros>.<id>` of the last row: opaque to clients.
  return pageOf(
    readQuery(query, {
      limit: limitCheck,
      cursor: (value) => (/^[0-9]{1,17}\.[0-9a-f-]{36}$/.test(value) ? null : 'is not a cursor this endpoint handed out'),
    }),
  );
}

export interface BulkItemsQuery extends PageQuery {
  readonly outcome?: (typeof BULK_ITEM_OUTCOMES)[number];
}

export function validateBulkItemsQuery(query: Record<string, unknown>): BulkItemsQuery {
  const given = readQuery(query, {
    outcome: oneOf(BULK_ITEM_OUTCOMES),
    limit: limitCheck,
    cursor: (value) => (/^(0|[1-9][0-9]{0,5})$/.test(value) ? null : 'is not a cursor this endpoint handed out'),
  });
  return { ...pageOf(given), ...(given.outcome ? { outcome: given.outcome as BulkItemsQuery['outcome'] & string } : {}) };
}
