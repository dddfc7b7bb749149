import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { sagaStatus } from './admin-api';
import { errorAnswer } from './service-api';
import { type HttpApi, json, timestamp, z } from './zod-openapi';

/*
 * Bulk operations and the audit log of the admin API: retry or abort every saga a filter
 * matches, in the background at a bounded rate, and who did what. site-saga parses requests
 * with these schemas and answers with these shapes; the CLI checks its answers with them.
 */

export const BULK_ACTIONS = ['retry', 'abort'] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];
/** `running` until every selected saga was handled (`completed`) or an operator cancelled it. */
export const BULK_STATUSES = ['running', 'completed', 'cancelled'] as const;
export type BulkStatus = (typeof BULK_STATUSES)[number];
/** What happened to one saga of a bulk: not yet, the action was taken, not applicable (its status), or an error. */
export const BULK_ITEM_OUTCOMES = ['pending', 'done', 'skipped', 'failed'] as const;
/** What an operator did: a saga's retry or abort, a bulk operation's start or cancel, an orphan repair (dry runs included). */
export const AUDIT_ACTIONS = ['retry', 'abort', 'bulk-retry', 'bulk-abort', 'bulk-cancel', 'orphan-repair'] as const;
export const AUDIT_OUTCOMES = ['accepted', 'refused', 'failed', 'started'] as const;

export const BULK_LIMITS = {
  /** Sagas one bulk may select; a filter matching more is refused (narrow it, or run several). */
  maxSagas: 10_000,
  /** Ids a dry run shows. */
  sample: 20,
  ratePerSecond: { default: 10, max: 100 },
  /** Bulks running at once, over every replica. */
  maxRunning: 3,
  /** Audit log and bulk list page size. */
  page: { default: 50, max: 200 },
} as const;

// eslint-disable-next-line no-control-regex
const printable = (max: number) => new RegExp(`^[^\\u0000-\\u001f\\u007f]{1,${max}}$`);
const NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,99}$/;
const instant = (field: string) =>
  z
    .string({ message: `${field} must be an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z` })
    .datetime({ offset: true, message: `must be an ISO 8601 date-time with a zone, e.g. 2026-01-31T12:00:00Z` });

/** Which sagas: the filters of `GET /admin/sagas` and more. Every field narrows; at least one is needed. */
const bulkFilterFields = z
  .object({
    status: sagaStatus.optional(),
    type: z.string().regex(NAME, 'must be a saga type name (letters, digits, ._-; at most 100)').optional().openapi({ example: 'CreateSite' }),
    siteName: z.string().regex(printable(253), 'must be 1 to 253 printable characters').optional().openapi({ description: 'Exact site name' }),
    step: z
      .string()
      .regex(NAME, 'must be a step name (letters, digits, ._-; at most 100)')
      .optional()
      .openapi({ description: 'The saga failed at this step, or is running, compensating or stuck (FAILED) there', example: 'ProvisionDatabase' }),
    error: z
      .string()
      .regex(printable(200), 'must be 1 to 200 printable characters')
      .optional()
      .openapi({ description: "Text (case-insensitive) in the saga's failure reason or a step's error" }),
    createdFrom: instant('createdFrom').optional().openapi({ description: 'Created at or after' }),
    createdBefore: instant('createdBefore').optional().openapi({ description: 'Created before' }),
  })
  .strict();

/** A filter as answers show it (already checked when it was given). */
export const bulkFilterView = bulkFilterFields.openapi('BulkFilterView');

export const bulkFilter = bulkFilterFields
  .superRefine((filter, context) => {
    if (Object.values(filter).every((value) => value === undefined)) {
      context.addIssue({ code: 'custom', path: [], message: 'give at least one filter (status, type, siteName, step, error, createdFrom, createdBefore)' });
    }
    if (filter.createdFrom && filter.createdBefore && Date.parse(filter.createdFrom) >= Date.parse(filter.createdBefore)) {
      context.addIssue({ code: 'custom', path: ['createdBefore'], message: 'must be after createdFrom' });
    }
  })
  .openapi('BulkFilter');
export type BulkFilter = z.infer<typeof bulkFilter>;

const REASON_MESSAGE = 'must be 1 to 500 printable characters';

/** `POST /admin/bulk-operations`. */
export const bulkRequest = z
  .object({
    action: z.enum(BULK_ACTIONS, { message: `must be one of ${BULK_ACTIONS.join(', ')}` }),
    filter: bulkFilter,
    dryRun: z.boolean().optional().openapi({ description: 'Only count: how many sagas match, by status, and a sample of ids. Nothing changes.' }),
    ratePerSecond: z
      .number({ message: `must be an integer from 1 to ${BULK_LIMITS.ratePerSecond.max}` })
      .int(`must be an integer from 1 to ${BULK_LIMITS.ratePerSecond.max}`)
      .min(1, `must be an integer from 1 to ${BULK_LIMITS.ratePerSecond.max}`)
      .max(BULK_LIMITS.ratePerSecond.max, `must be an integer from 1 to ${BULK_LIMITS.ratePerSecond.max}`)
      .optional()
      .openapi({ description: `Sagas per second (default ${BULK_LIMITS.ratePerSecond.default})` }),
    reason: z
      .string({ message: REASON_MESSAGE })
      .regex(printable(500), REASON_MESSAGE)
      .refine((reason) => reason.trim().length > 0, REASON_MESSAGE)
      .transform((reason) => reason.trim())
      .optional()
      .openapi({ description: 'Why: required for abort (recorded in each saga failure and the audit log)' }),
  })
  .strict()
  .superRefine((request, context) => {
    if (request.action === 'abort' && request.dryRun !== true && request.reason === undefined)
      context.addIssue({ code: 'custom', path: ['reason'], message: 'is required to abort' });
  })
  .openapi('BulkRequest');
export type BulkRequest = z.infer<typeof bulkRequest>;

export const bulkDryRun = z
  .object({
    dryRun: z.literal(true),
    action: z.enum(BULK_ACTIONS),
    filter: bulkFilterView,
    matched: z.number().int().openapi({ description: 'Sagas the filter matches now' }),
    actionable: z.number().int().openapi({ description: 'Of those, how many are in a status the action applies to (the rest would be skipped)' }),
    byStatus: z.record(z.string(), z.number().int()),
    sample: z.array(z.string().uuid()).openapi({ description: `The oldest ${BULK_LIMITS.sample} matching saga ids` }),
    maxSagas: z.number().int().openapi({ description: 'A bulk may select at most this many sagas' }),
  })
  .openapi('BulkDryRun');
export type BulkDryRun = z.infer<typeof bulkDryRun>;

const bulkOperationFields = z.object({
  id: z.string().uuid(),
  action: z.enum(BULK_ACTIONS),
  status: z.enum(BULK_STATUSES),
  operator: z.string().openapi({ description: '`admin` (ADMIN_TOKEN) or the name of an ADMIN_TOKENS token' }),
  filter: bulkFilterView,
  reason: z.string().nullable(),
  ratePerSecond: z.number().int(),
  selected: z.number().int().openapi({ description: 'Sagas selected when it started (the filter is not re-read)' }),
  done: z.number().int(),
  skipped: z.number().int().openapi({ description: 'Not in a status the action applies to when their turn came' }),
  failed: z.number().int(),
  pending: z.number().int(),
  interruptions: z.number().int().openapi({ description: 'Times its runner stopped (a restart or a crash) and another took it over where it was' }),
  createdAt: timestamp(),
  updatedAt: timestamp(),
  finishedAt: timestamp().nullable(),
});
export const bulkOperation = bulkOperationFields.openapi('BulkOperation');
export type BulkOperation = z.infer<typeof bulkOperation>;

export const bulkOperationPage = z.object({ items: z.array(bulkOperation), nextCursor: z.string().nullable() }).openapi('BulkOperationPage');
export type BulkOperationPage = z.infer<typeof bulkOperationPage>;

export const bulkItem = z
  .object({
    sagaId: z.string().uuid(),
    outcome: z.enum(BULK_ITEM_OUTCOMES),
    detail: z.string().nullable().openapi({ description: 'Why skipped or failed, or the status it left the saga in' }),
    at: timestamp().nullable().openapi({ description: 'When its turn began (rate-limited)' }),
  })
  .openapi('BulkItem');
export type BulkItem = z.infer<typeof bulkItem>;
export const bulkItemPage = z.object({ items: z.array(bulkItem), nextCursor: z.string().nullable() }).openapi('BulkItemPage');
export type BulkItemPage = z.infer<typeof bulkItemPage>;

export const auditEntry = z
  .object({
    id: z.string().openapi({ description: 'Increasing' }),
    at: timestamp(),
    operator: z.string(),
    action: z.enum(AUDIT_ACTIONS),
    outcome: z.enum(AUDIT_OUTCOMES),
    sagaId: z.string().uuid().nullable(),
    bulkId: z.string().uuid().nullable(),
    // Inline, not a $ref: OpenAPI 3.0 has no nullable reference.
    filter: bulkFilterFields.nullable(),
    reason: z.string().nullable(),
    detail: z.string().nullable(),
    // The bulk operation as it is now (progress, counts).
    bulk: bulkOperationFields.nullable(),
  })
  .openapi('AuditEntry');
export type AuditEntry = z.infer<typeof auditEntry>;
export const auditPage = z.object({ items: z.array(auditEntry), nextCursor: z.string().nullable() }).openapi('AuditPage');
export type AuditPage = z.infer<typeof auditPage>;

const pageQuery = {
  limit: z
    .number()
    .int()
    .min(1)
    .max(BULK_LIMITS.page.max)
    .optional()
    .openapi({ param: { description: `1 to ${BULK_LIMITS.page.max}, default ${BULK_LIMITS.page.default}` } }),
  cursor: z
    .string()
    .optional()
    .openapi({ param: { description: 'A `nextCursor` from a previous page' } }),
};
export const auditLogQuery = z.object({
  operator: z.string().optional(),
  action: z.enum(AUDIT_ACTIONS).optional(),
  sagaId: z.string().uuid().optional(),
  ...pageQuery,
});
export const bulkItemsQuery = z.object({ outcome: z.enum(BULK_ITEM_OUTCOMES).optional(), ...pageQuery });

const SECURITY: Record<string, string[]>[] = [{ bearer: [] }, { session: [] }];
const unauthorized = errorAnswer('No or wrong token, or a signed-out session (`WWW-Authenticate: Bearer`)');
const throttled = {
  ...errorAnswer('Too many failed attempts from this address, `Retry-After` seconds'),
  headers: { 'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer' as const } } },
};
const BULK = 'bulk operations and audit log';
const bulkId = z.object({
  id: z
    .string()
    .uuid()
    .openapi({ param: { description: 'The bulk operation id' } }),
});

function registerBulkRoutes(registry: OpenAPIRegistry): void {
  const common = { tags: [BULK], security: SECURITY };
  registry.registerPath({
    method: 'post',
    path: '/admin/bulk-operations',
    summary: 'Retry or abort every saga a filter matches (dry run: count only), in the background at ratePerSecond',
    ...common,
    request: { body: { required: true, content: json(bulkRequest) } },
    responses: {
      200: { description: 'Dry run: what it would touch', content: json(bulkDryRun) },
      202: { description: 'Started: the operation, to follow at /admin/bulk-operations/{id}', content: json(bulkOperation) },
      400: errorAnswer('A bad body or filter (field errors name it, e.g. `filter.status`), or more sagas than one bulk may select'),
      401: unauthorized,
      409: errorAnswer('The same action and filter already runs, or as many bulks as may run at once do'),
      429: throttled,
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/admin/bulk-operations',
    summary: 'Bulk operations, newest first',
    ...common,
    request: { query: z.object(pageQuery) },
    responses: { 200: { description: 'One page', content: json(bulkOperationPage) }, 400: errorAnswer('A bad parameter'), 401: unauthorized, 429: throttled },
  });
  registry.registerPath({
    method: 'get',
    path: '/admin/bulk-operations/{id}',
    summary: 'A bulk operation and its progress',
    ...common,
    request: { params: bulkId },
    responses: {
      200: { description: 'The operation', content: json(bulkOperation) },
      400: errorAnswer('Not a uuid'),
      401: unauthorized,
      404: errorAnswer('No such bulk operation'),
      429: throttled,
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/admin/bulk-operations/{id}/items',
    summary: 'The sagas a bulk operation selected, in the order it handles them, with what happened to each',
    ...common,
    request: { params: bulkId, query: bulkItemsQuery },
    responses: {
      200: { description: 'One page', content: json(bulkItemPage) },
      400: errorAnswer('Not a uuid, or a bad parameter'),
      401: unauthorized,
      404: errorAnswer('No such bulk operation'),
      429: throttled,
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/admin/bulk-operations/{id}/cancel',
    summary: 'Stop a running bulk operation: sagas not yet handled stay as they are',
    ...common,
    request: { params: bulkId },
    responses: {
      202: { description: 'Cancelled (or already finished: as it is)', content: json(bulkOperation) },
      400: errorAnswer('Not a uuid'),
      401: unauthorized,
      404: errorAnswer('No such bulk operation'),
      429: throttled,
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/admin/bulk',
    summary: 'The bulk operations and audit log web page (a sign-in form without credentials)',
    tags: ['admin page'],
    responses: {
      200: { description: 'The page', content: { 'text/html': { schema: z.string() } } },
      401: { description: 'The sign-in form', content: { 'text/html': { schema: z.string() } } },
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/admin/audit-log',
    summary: 'What operators did (retry, abort, bulk operations), newest first',
    ...common,
    request: { query: auditLogQuery },
    responses: { 200: { description: 'One page', content: json(auditPage) }, 400: errorAnswer('A bad parameter'), 401: unauthorized, 429: throttled },
  });
}

/** The admin API with the bulk and audit routes: `withBulkOperations(ADMIN_API)`. */
export function withBulkOperations(api: HttpApi): HttpApi {
  return {
    ...api,
    tags: [...api.tags, BULK],
    register(registry) {
      api.register(registry);
      registerBulkRoutes(registry);
    },
  };
}
