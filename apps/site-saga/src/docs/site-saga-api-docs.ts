import { asyncApiDocument } from '@sitesaga/contracts';
import { type ApiDocsOptions, errorAnswer } from '@sitesaga/messaging';
import { SAGA_STATUSES, STEP_STATES } from '@sitesaga/saga';
import { LIST_LIMIT } from '../admin/admin-request-validation';
import { SESSION_COOKIE } from '../admin/admin-auth';
import { HISTORY_LIMIT } from '../admin/saga-operations';

const json = (schema: object) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const nullable = (schema: Record<string, unknown>) => ({ ...schema, nullable: true });
const timestamp = { type: 'string' as const, format: 'date-time' };

/** The admin API needs the token (or the page's session cookie); the docs themselves are public. */
const ADMIN_SECURITY: Record<string, string[]>[] = [{ bearer: [] }, { session: [] }];
const sagaIdParameter = { name: 'id', in: 'path' as const, required: true, description: 'The saga id (a uuid)', schema: { type: 'string' as const, format: 'uuid' } };
const unauthorized = errorAnswer('No or wrong token, or a signed-out session (`WWW-Authenticate: Bearer`)');
/** A bearer attempt from an address that failed too often. */
const throttled = {
  description: 'Too many failed attempts from this address (ADMIN_MAX_FAILED_ATTEMPTS in 15 minutes), `Retry-After` seconds',
  headers: { 'Retry-After': { schema: { type: 'integer' as const } } },
  content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } },
};

const latencyFigures = {
  count: { type: 'integer' },
  p50Ms: nullable({ type: 'integer' }),
  p95Ms: nullable({ type: 'integer' }),
  p99Ms: nullable({ type: 'integer' }),
};

/**
 * The orchestrator's HTTP API: the admin endpoint (SPEC.md, "Admin endpoint"; shapes from
 * admin/saga-views.ts and admin/saga-queries.ts, checked against real answers by
 * site-saga-api-docs.int-spec.ts) and the AsyncAPI document of every Kafka message.
 */
export const SITE_SAGA_API_DOCS: ApiDocsOptions = {
  title: 'site-saga API',
  description: [
    'The orchestrator’s admin endpoint: list, inspect, retry and abort sagas, live.',
    'Every /admin route needs `Authorization: Bearer <ADMIN_TOKEN>` (or the admin page’s session cookie; a write by cookie also needs `X-Admin-Request: 1`).',
    'Every 4xx reads `{ message, errors: [{ field, message }] }`.',
    'The Kafka messages are described by the AsyncAPI document at [/docs/asyncapi.json](/docs/asyncapi.json).',
  ].join(' '),
  extraDocuments: { 'asyncapi.json': asyncApiDocument },
  securitySchemes: {
    bearer: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
    session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'Set by `POST /admin/session` (the admin page’s sign-in)' },
  },
  schemas: {
    SagaSummary: {
      type: 'object',
      required: ['id', 'type', 'status', 'version', 'siteName', 'siteId', 'createdAt', 'updatedAt', 'currentStep'],
      properties: {
        id: { type: 'string', format: 'uuid' },
        type: { type: 'string', example: 'CreateSite' },
        status: { type: 'string', enum: [...SAGA_STATUSES] },
        version: { type: 'integer', description: 'Bumped by every change (optimistic concurrency)' },
        siteName: nullable({ type: 'string' }),
        siteId: nullable({ type: 'string', format: 'uuid' }),
        createdAt: timestamp,
        updatedAt: timestamp,
        currentStep: nullable({ type: 'string', description: 'The step(s) it waits on, comma-separated for a parallel group' }),
        failedStep: { type: 'string' },
      },
    },
    SagaPage: {
      type: 'object',
      required: ['items', 'nextCursor'],
      properties: {
        items: { type: 'array', items: ref('SagaSummary') },
        nextCursor: nullable({ type: 'string', description: 'Pass as `cursor` for the next page; null on the last page' }),
      },
    },
    SagaStep: {
      type: 'object',
      required: ['name', 'state', 'attempts', 'startedAt', 'finishedAt', 'error', 'position', 'compensationAttempts', 'mayHaveTakenEffect', 'deadlineAt', 'deadlineKind', 'durationMs'],
      properties: {
        name: { type: 'string' },
        state: { type: 'string', enum: [...STEP_STATES] },
        attempts: { type: 'integer' },
        startedAt: nullable(timestamp),
        finishedAt: nullable(timestamp),
        error: nullable({ type: 'string' }),
        position: { type: 'integer', description: 'Stage index: the steps of one parallel group share it' },
        compensationAttempts: { type: 'integer' },
        mayHaveTakenEffect: { type: 'boolean', description: 'Sent with no definitive answer: compensated as if it succeeded' },
        deadlineAt: nullable(timestamp),
        deadlineKind: nullable({ type: 'string', enum: ['reply', 'resend'] }),
        durationMs: nullable({ type: 'integer' }),
      },
    },
    SagaHistoryEntry: {
      type: 'object',
      required: ['direction', 'topic', 'messageId', 'type', 'at', 'step'],
      properties: {
        direction: { type: 'string', enum: ['in', 'out'] },
        topic: nullable({ type: 'string', description: 'Null for inputs that are not messages (a deadline, an operator action)' }),
        messageId: nullable({ type: 'string' }),
        type: { type: 'string', example: 'StorageProvisioned' },
        at: timestamp,
        step: nullable({ type: 'string' }),
      },
    },
    SagaFailure: {
      type: 'object',
      required: ['failedStep', 'reason', 'cause', 'stuck'],
      properties: {
        failedStep: { type: 'string' },
        reason: { type: 'string' },
        cause: {
          type: 'string',
          enum: ['business', 'exhausted', 'aborted', 'quarantined'],
          description: 'quarantined: the saga could not be run (unknown type or step, data breaking its contract) and was set aside for a person',
        },
        stuck: {
          type: 'array',
          description: 'Steps that ran out of attempts (the saga is FAILED): compensations, or forward steps of a saga that cannot be undone (DeleteSite)',
          items: { type: 'object', required: ['step', 'reason'], properties: { step: { type: 'string' }, reason: { type: 'string' } } },
        },
      },
    },
    SagaDetail: {
      type: 'object',
      required: [
        'id',
        'type',
        'status',
        'version',
        'input',
        'createdAt',
        'updatedAt',
        'steps',
        'history',
        'siteName',
        'siteId',
        'correlationId',
        'failure',
        'stageCount',
        'actions',
        'historyTruncated',
      ],
      properties: {
        id: { type: 'string', format: 'uuid' },
        type: { type: 'string' },
        status: { type: 'string', enum: [...SAGA_STATUSES] },
        version: { type: 'integer' },
        input: { type: 'object', description: 'The saga data, secrets redacted' },
        createdAt: timestamp,
        updatedAt: timestamp,
        steps: { type: 'array', items: ref('SagaStep') },
        history: { type: 'array', description: `Messages in and out, oldest first (at most ${HISTORY_LIMIT})`, items: ref('SagaHistoryEntry') },
        siteName: nullable({ type: 'string' }),
        siteId: nullable({ type: 'string', format: 'uuid' }),
        correlationId: { type: 'string' },
        failure: { allOf: [ref('SagaFailure')], nullable: true },
        stageCount: { type: 'integer' },
        actions: { type: 'object', required: ['retry', 'abort'], properties: { retry: { type: 'boolean' }, abort: { type: 'boolean' } } },
        historyTruncated: { type: 'boolean' },
      },
    },
    SagaStats: {
      type: 'object',
      required: ['byStatus', 'byType', 'steps', 'sagaDurations', 'window', 'generatedAt'],
      properties: {
        byStatus: { type: 'object', additionalProperties: { type: 'integer' }, example: { RUNNING: 2, COMPLETED: 40 } },
        byType: { type: 'object', additionalProperties: { type: 'object', additionalProperties: { type: 'integer' } }, example: { CreateSite: { COMPLETED: 40 } } },
        steps: {
          type: 'array',
          description: 'Latency of SUCCEEDED steps (first send → success, retries included) among the newest sagas',
          items: { type: 'object', required: ['name', ...Object.keys(latencyFigures)], properties: { name: { type: 'string' }, ...latencyFigures } },
        },
        sagaDurations: { type: 'object', required: Object.keys(latencyFigures), properties: latencyFigures },
        window: {
          type: 'object',
          required: ['sagas', 'since'],
          properties: { sagas: { type: 'integer' }, since: nullable(timestamp) },
        },
        generatedAt: timestamp,
      },
    },
    ParkedMessages: {
      type: 'object',
      description: 'What the line moved past instead of stopping: dead letters the DLQ could not take, and outbox rows the broker refused for good (oldest first, at most 100 of each)',
      required: ['deadLetters', 'outbox'],
      properties: {
        deadLetters: {
          type: 'array',
          items: {
            type: 'object',
            required: ['id', 'topic', 'partition', 'offset', 'consumerGroup', 'error', 'parkedReason', 'createdAt'],
            properties: {
              id: { type: 'string', description: 'Row of the dead_letters table, which keeps the whole message' },
              topic: { type: 'string' },
              partition: { type: 'integer' },
              offset: { type: 'string' },
              consumerGroup: { type: 'string' },
              error: { type: 'string' },
              parkedReason: nullable({ type: 'string' }),
              createdAt: timestamp,
            },
          },
        },
        outbox: {
          type: 'array',
          items: {
            type: 'object',
            required: ['position', 'messageId', 'topic', 'type', 'sagaId', 'bytes', 'parkedAt', 'parkedReason'],
            properties: {
              position: { type: 'string' },
              messageId: { type: 'string' },
              topic: { type: 'string' },
              type: { type: 'string' },
              sagaId: { type: 'string' },
              bytes: { type: 'integer' },
              parkedAt: timestamp,
              parkedReason: { type: 'string' },
            },
          },
        },
      },
    },
    AbortRequest: {
      type: 'object',
      additionalProperties: false,
      properties: { reason: { type: 'string', minLength: 1, maxLength: 500, description: 'Printable; recorded in the saga failure' } },
    },
    ActionConflict: {
      type: 'object',
      required: ['message', 'errors'],
      properties: { message: { type: 'string' }, errors: { type: 'array', items: ref('FieldError') }, sagaStatus: { type: 'string', enum: [...SAGA_STATUSES] } },
    },
  },
  operations: {
    'GET /admin/sagas': {
      summary: 'List sagas, newest first, with filters and a cursor',
      tags: ['admin'],
      security: ADMIN_SECURITY,
      parameters: [
        { name: 'status', in: 'query', required: false, schema: { type: 'string', enum: [...SAGA_STATUSES] } },
        { name: 'type', in: 'query', required: false, schema: { type: 'string', example: 'CreateSite' } },
        { name: 'siteName', in: 'query', required: false, description: 'Exact site name', schema: { type: 'string' } },
        { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: LIST_LIMIT.max, default: LIST_LIMIT.default } },
        { name: 'cursor', in: 'query', required: false, description: 'A `nextCursor` from a previous page', schema: { type: 'string' } },
      ],
      responses: { 200: { description: 'One page', content: json(ref('SagaPage')) }, 400: errorAnswer('An unknown or invalid parameter'), 401: unauthorized, 429: throttled },
    },
    'GET /admin/sagas/{id}': {
      summary: 'A saga: steps, data (secrets redacted) and message history',
      tags: ['admin'],
      security: ADMIN_SECURITY,
      parameters: [sagaIdParameter],
      responses: { 200: { description: 'The saga', content: json(ref('SagaDetail')) }, 400: errorAnswer('Not a uuid'), 401: unauthorized,
        429: throttled, 404: errorAnswer('No such saga') },
    },
    'POST /admin/sagas/{id}/retry': {
      summary: 'Re-send what a RUNNING or COMPENSATING saga waits for, or resume a FAILED saga’s compensations',
      tags: ['admin'],
      security: ADMIN_SECURITY,
      parameters: [sagaIdParameter],
      responses: {
        202: { description: 'Done: the saga as it is now', content: json(ref('SagaSummary')) },
        400: errorAnswer('Not a uuid'),
        401: unauthorized,
        429: throttled,
        404: errorAnswer('No such saga'),
        409: { description: 'The saga is COMPLETED or COMPENSATED, or keeps changing', content: json(ref('ActionConflict')) },
      },
    },
    'POST /admin/sagas/{id}/abort': {
      summary: 'Compensate a RUNNING saga',
      tags: ['admin'],
      security: ADMIN_SECURITY,
      parameters: [sagaIdParameter],
      requestBody: { required: false, content: json(ref('AbortRequest')) },
      responses: {
        202: { description: 'Compensation started: the saga is COMPENSATING', content: json(ref('SagaSummary')) },
        400: errorAnswer('Not a uuid, or a bad body'),
        401: unauthorized,
        429: throttled,
        404: errorAnswer('No such saga'),
        409: { description: 'The saga is not RUNNING', content: json(ref('ActionConflict')) },
      },
    },
    'GET /admin/stats': {
      summary: 'Counts by status and type, step and saga latency',
      tags: ['admin'],
      security: ADMIN_SECURITY,
      responses: { 200: { description: 'The figures', content: json(ref('SagaStats')) }, 401: unauthorized, 429: throttled },
    },
    'GET /admin/parked': {
      summary: "Messages the orchestrator parked instead of stopping its partition or its outbox (each participant counts its own in /metrics: dead_letters_parked, outbox_parked_messages)",
      tags: ['admin'],
      security: ADMIN_SECURITY,
      responses: { 200: { description: 'Parked dead letters and outbox rows', content: json(ref('ParkedMessages')) }, 401: unauthorized, 429: throttled },
    },
    'GET /admin/stream': {
      summary: 'Live saga changes (Server-Sent Events: `event: saga`, data = a SagaSummary)',
      tags: ['admin'],
      security: ADMIN_SECURITY,
      responses: {
        200: { description: 'An event stream, until the client leaves or its session is signed out', content: { 'text/event-stream': { schema: { type: 'string', example: 'event: saga\ndata: {"id":"…","status":"RUNNING",…}\n\n' } } } },
        401: unauthorized,
        429: throttled,
        503: { description: 'This replica serves as many streams as it may (`Retry-After`)', headers: { 'Retry-After': { schema: { type: 'integer' } } } },
      },
    },
    'GET /admin': {
      summary: 'The admin web page (a sign-in form without credentials)',
      tags: ['admin page'],
      responses: { 200: { description: 'The page', content: { 'text/html': {} } }, 401: { description: 'The sign-in form', content: { 'text/html': {} } } },
    },
    'POST /admin/session': {
      summary: 'Sign in with the token (form field `token`): sets the session cookie',
      tags: ['admin page'],
      requestBody: {
        required: true,
        content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', required: ['token'], properties: { token: { type: 'string' } } } } },
      },
      responses: {
        303: { description: 'Signed in: to /admin, with the cookie (`Secure` over TLS)' },
        401: { description: 'Wrong token: the form again', content: { 'text/html': {} } },
        429: {
          description: 'Too many failed attempts from this address (ADMIN_MAX_FAILED_ATTEMPTS in 15 minutes); refused whatever the token',
          headers: { 'Retry-After': { schema: { type: 'integer' } } },
          content: { 'text/html': {} },
        },
      },
    },
    'DELETE /admin/session': {
      summary: 'Sign out (needs `X-Admin-Request: 1`)',
      tags: ['admin page'],
      parameters: [{ name: 'X-Admin-Request', in: 'header', required: true, schema: { type: 'string', enum: ['1'] } }],
      responses: { 204: { description: 'Signed out: the session is revoked on every replica, its streams end, the cookie is cleared' }, 403: { description: 'Not from the page' } },
    },
  },
};
