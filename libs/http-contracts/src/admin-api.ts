import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { sagaDefinitions } from './saga-definitions-api';
import { errorAnswer, fieldError } from './service-api';
import { type HttpApi, json, type RouteConfig, timestamp, z } from './zod-openapi';

/*
 * The orchestrator's admin API, every shape of it (SPEC.md, "Admin endpoint"). site-saga
 * answers with these shapes (its views are typed by them), the CLI parses its answers with
 * them, and the OpenAPI document at site-saga's /docs is generated from them.
 */

/** The engine's saga statuses and step states (libs/saga/src/saga-state.ts; site-saga checks at compile time that they agree). */
export const SAGA_STATUSES = ['RUNNING', 'COMPENSATING', 'COMPLETED', 'COMPENSATED', 'FAILED'] as const;
export const STEP_STATES = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'COMPENSATING', 'COMPENSATED', 'SKIPPED'] as const;
export const sagaStatus = z.enum(SAGA_STATUSES);
export type SagaStatus = z.infer<typeof sagaStatus>;
export const stepState = z.enum(STEP_STATES);

export const ADMIN_LIST_LIMIT = { default: 50, max: 200 } as const;
/** At most this many history entries in a saga's detail. */
export const HISTORY_LIMIT = 1000;
/** The admin page's session cookie. */
export const SESSION_COOKIE = 'saga_admin_session';

const latencyFigures = z.object({
  count: z.number().int(),
  p50Ms: z.number().int().nullable(),
  p95Ms: z.number().int().nullable(),
  p99Ms: z.number().int().nullable(),
});

/** Definition versions (docs/adr/0007) and keyed exclusion (docs/adr/0008), on a summary and a detail alike. */
const sagaRunsOn = {
  definitionVersion: z.number().int().openapi({ description: 'The version of its saga definition it started on, and runs on to its end' }),
  versionDeployed: z.boolean().openapi({
    description: 'False when this orchestrator does not run that version: the saga waits untouched (replies parked, deadlines held) until it is deployed again',
  }),
  waitingFor: z.string().uuid().nullable().openapi({
    description: 'The saga holding the exclusion key (e.g. the site) this one waits for: it begins when that one ends; null when not waiting',
  }),
};

/** One row of `GET /admin/sagas` and the data of one `event: saga` on the stream. */
export const sagaSummary = z
  .object({
    id: z.string().uuid(),
    type: z.string().openapi({ example: 'CreateSite' }),
    status: sagaStatus,
    version: z.number().int().openapi({ description: 'Bumped by every change (optimistic concurrency)' }),
    siteName: z.string().nullable(),
    siteId: z.string().uuid().nullable(),
    createdAt: timestamp(),
    updatedAt: timestamp(),
    currentStep: z.string().nullable().openapi({ description: 'The step(s) it waits on, comma-separated for a parallel group' }),
    failedStep: z.string().optional(),
    ...sagaRunsOn,
  })
  .openapi('SagaSummary');
export type SagaSummary = z.infer<typeof sagaSummary>;

export const sagaPage = z
  .object({
    items: z.array(sagaSummary),
    nextCursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next page; null on the last page' }),
  })
  .openapi('SagaPage');
export type SagaPage = z.infer<typeof sagaPage>;

const hopMs = z.number().int().nonnegative();

export const messageHops = z
  .object({
    outboxMs: hopMs.nullable().openapi({ description: "Sender's outbox: row written at its commit → produced by its relay" }),
    brokerMs: hopMs.nullable().openapi({ description: 'Kafka: produced → fetched by the receiver' }),
    handlerMs: hopMs.nullable().openapi({ description: 'Receiver: fetched → it committed what the message caused (the orchestrator: → it decided)' }),
  })
  .openapi('MessageHops', { description: 'Where one message spent its time; a leg is null when it was not measured (a header missing or implausible)' });
export type MessageHops = z.infer<typeof messageHops>;

export const stepWaits = z
  .object({
    kafkaMs: hopMs.openapi({ description: 'On the broker: the command and its reply' }),
    participantMs: hopMs.openapi({ description: "In the participant: handling the command and its outbox until the reply was produced" }),
    orchestratorMs: hopMs.openapi({ description: "The rest of the step's duration: the orchestrator deciding, committing and publishing, retries and their waits" }),
  })
  .openapi('StepWaits', { description: "The step's duration split by who it waited on (from the reply that ended it); they add up to durationMs" });
export type StepWaits = z.infer<typeof stepWaits>;

export const stepView = z
  .object({
    name: z.string(),
    state: stepState,
    attempts: z.number().int(),
    startedAt: timestamp().nullable(),
    finishedAt: timestamp().nullable(),
    error: z.string().nullable(),
    position: z.number().int().openapi({ description: 'Stage index: the steps of one parallel group share it' }),
    compensationAttempts: z.number().int(),
    mayHaveTakenEffect: z.boolean().openapi({ description: 'Sent with no definitive answer: compensated as if it succeeded' }),
    deadlineAt: timestamp().nullable(),
    deadlineKind: z.enum(['reply', 'resend']).nullable(),
    durationMs: z.number().int().nullable(),
    waits: stepWaits.nullable(),
  })
  .openapi('SagaStep');
export type StepView = z.infer<typeof stepView>;

export const historyView = z
  .object({
    direction: z.enum(['in', 'out']),
    topic: z.string().nullable().openapi({ description: 'Null for inputs that are not messages (a deadline, an operator action)' }),
    messageId: z.string().nullable(),
    type: z.string().openapi({ example: 'StorageProvisioned' }),
    at: timestamp(),
    step: z.string().nullable(),
    hops: messageHops.nullable().openapi({ description: "A command's legs as its participant measured them (carried back in the reply); a reply's as the orchestrator measured them" }),
  })
  .openapi('SagaHistoryEntry');
export type HistoryView = z.infer<typeof historyView>;

export const sagaFailure = z
  .object({
    failedStep: z.string(),
    reason: z.string(),
    cause: z.enum(['business', 'exhausted', 'aborted', 'quarantined']).openapi({
      description: 'quarantined: the saga could not be run (unknown type or step, data breaking its contract) and was set aside for a person',
    }),
    stuck: z.array(z.object({ step: z.string(), reason: z.string() })).openapi({
      description: 'Steps that ran out of attempts (the saga is FAILED): compensations, or forward steps of a saga that cannot be undone (DeleteSite)',
    }),
  })
  .openapi('SagaFailure');

/** `GET /admin/sagas/{id}`: SPEC.md's shape plus what an operator needs to act. */
export const sagaDetail = z
  .object({
    id: z.string().uuid(),
    type: z.string(),
    status: sagaStatus,
    version: z.number().int(),
    input: z.record(z.unknown()).openapi({ description: 'The saga data, secrets redacted' }),
    createdAt: timestamp(),
    updatedAt: timestamp(),
    steps: z.array(stepView),
    history: z.array(historyView).openapi({ description: `Messages in and out, oldest first (at most ${HISTORY_LIMIT})` }),
    siteName: z.string().nullable(),
    siteId: z.string().uuid().nullable(),
    correlationId: z.string(),
    failure: sagaFailure.nullable(),
    stageCount: z.number().int(),
    actions: z.object({ retry: z.boolean(), abort: z.boolean() }),
    historyTruncated: z.boolean(),
    ...sagaRunsOn,
  })
  .openapi('SagaDetail');
export type SagaDetail = z.infer<typeof sagaDetail>;

export const sagaStats = z
  .object({
    byStatus: z.record(z.number().int()).openapi({ example: { RUNNING: 2, COMPLETED: 40 } }),
    byType: z.record(z.record(z.number().int())).openapi({ example: { CreateSite: { COMPLETED: 40 } } }),
    steps: z.array(latencyFigures.extend({ name: z.string() })).openapi({
      description: 'Latency of SUCCEEDED steps (first send → success, retries included) among the newest sagas',
    }),
    sagaDurations: latencyFigures,
    window: z.object({ sagas: z.number().int(), since: timestamp().nullable() }),
    generatedAt: timestamp(),
  })
  .openapi('SagaStats');
export type SagaStats = z.infer<typeof sagaStats>;

export const parkedMessages = z
  .object({
    deadLetters: z.array(
      z.object({
        id: z.string().openapi({ description: 'Row of the dead_letters table, which keeps the whole message' }),
        topic: z.string(),
        partition: z.number().int(),
        offset: z.string(),
        consumerGroup: z.string(),
        error: z.string(),
        parkedReason: z.string().nullable(),
        createdAt: timestamp(),
      }),
    ),
    outbox: z.array(
      z.object({
        position: z.string(),
        messageId: z.string(),
        topic: z.string(),
        type: z.string(),
        sagaId: z.string(),
        bytes: z.number().int(),
        parkedAt: timestamp(),
        parkedReason: z.string(),
      }),
    ),
  })
  .openapi('ParkedMessages', {
    description:
      'What the line moved past instead of stopping: dead letters the DLQ could not take, and outbox rows the broker refused for good (oldest first, at most 100 of each)',
  });
export type ParkedMessages = z.infer<typeof parkedMessages>;

const REASON_MESSAGE = 'must be 1 to 500 printable characters';
// eslint-disable-next-line no-control-regex
const PRINTABLE_REASON = /^[^\u0000-\u001f\u007f]{1,500}$/;

/** `POST /admin/sagas/{id}/abort` body: the server parses it with this very schema (the reason comes back trimmed). */
export const abortRequest = z
  .object({
    reason: z
      .string({ message: REASON_MESSAGE })
      .min(1, REASON_MESSAGE)
      .max(500, REASON_MESSAGE)
      .regex(PRINTABLE_REASON, REASON_MESSAGE)
      .refine((reason) => reason.trim().length > 0, REASON_MESSAGE)
      .transform((reason) => reason.trim())
      .optional()
      .openapi({ description: 'Printable; recorded in the saga failure' }),
  })
  .strict()
  .openapi('AbortRequest');

export const actionConflict = z.object({ message: z.string(), errors: z.array(fieldError), sagaStatus: sagaStatus.optional() }).openapi('ActionConflict');

/** `GET /admin/sagas` query, as documented (site-saga's admin-request-validation.ts checks it). */
export const sagaListQuery = z.object({
  status: sagaStatus.optional(),
  type: z.string().optional().openapi({ example: 'CreateSite' }),
  siteName: z
    .string()
    .optional()
    .openapi({ param: { description: 'Exact site name' } }),
  limit: z.number().int().min(1).max(ADMIN_LIST_LIMIT.max).default(ADMIN_LIST_LIMIT.default).optional(),
  cursor: z
    .string()
    .optional()
    .openapi({ param: { description: 'A `nextCursor` from a previous page' } }),
});

/** The admin API needs the token (or the page's session cookie); the docs themselves are public. */
const ADMIN_SECURITY: Record<string, string[]>[] = [{ bearer: [] }, { session: [] }];
const sagaIdParameter = z.object({
  id: z
    .string()
    .uuid()
    .openapi({ param: { description: 'The saga id (a uuid)' } }),
});
const unauthorized = errorAnswer('No or wrong token, or a signed-out session (`WWW-Authenticate: Bearer`)');
const retryAfter = { 'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer' as const } } };
/** A bearer attempt from an address that failed too often (site-saga's failed-attempts.ts). */
const throttled = {
  ...errorAnswer('Too many failed attempts from this address (ADMIN_MAX_FAILED_ATTEMPTS in 15 minutes), `Retry-After` seconds'),
  headers: retryAfter,
};
const ADMIN = 'admin';
const PAGE = 'admin page';

export const ADMIN_API: HttpApi = {
  title: 'site-saga API',
  description: [
    'The orchestrator’s admin endpoint: list, inspect, retry and abort sagas, live.',
    'Every /admin route needs `Authorization: Bearer <ADMIN_TOKEN>` (or the admin page’s session cookie; a write by cookie also needs `X-Admin-Request: 1`).',
    'Every 4xx reads `{ message, errors: [{ field, message }] }`.',
    'The Kafka messages are described by the AsyncAPI document at [/docs/asyncapi.json](/docs/asyncapi.json).',
  ].join(' '),
  tags: [ADMIN, PAGE],
  register(registry: OpenAPIRegistry) {
    registry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN, or a named operator token of ADMIN_TOKENS' });
    registry.registerComponent('securitySchemes', 'session', {
      type: 'apiKey',
      in: 'cookie',
      name: SESSION_COOKIE,
      description: 'Set by `POST /admin/session` (the admin page’s sign-in)',
    });
    const admin = { tags: [ADMIN], security: ADMIN_SECURITY };
    registry.registerPath({
      method: 'get',
      path: '/admin/sagas',
      summary: 'List sagas, newest first, with filters and a cursor',
      ...admin,
      request: { query: sagaListQuery },
      responses: { 200: { description: 'One page', content: json(sagaPage) }, 400: errorAnswer('An unknown or invalid parameter'), 401: unauthorized, 429: throttled },
    });
    registry.registerPath({
      method: 'get',
      path: '/admin/sagas/{id}',
      summary: 'A saga: steps, data (secrets redacted) and message history',
      ...admin,
      request: { params: sagaIdParameter },
      responses: {
        200: { description: 'The saga', content: json(sagaDetail) },
        400: errorAnswer('Not a uuid'),
        401: unauthorized,
        404: errorAnswer('No such saga'),
        429: throttled,
      },
    });
    // Retry and abort answer alike: the saga as it is now, or why the action does not apply.
    const sagaAction = (
      action: 'retry' | 'abort',
      summary: string,
      answers: { accepted: string; badRequest: string; conflict: string },
      body?: RouteConfig['request'],
    ) =>
      registry.registerPath({
        method: 'post',
        path: `/admin/sagas/{id}/${action}`,
        summary,
        ...admin,
        request: { params: sagaIdParameter, ...body },
        responses: {
          202: { description: answers.accepted, content: json(sagaSummary) },
          400: errorAnswer(answers.badRequest),
          401: unauthorized,
          404: errorAnswer('No such saga'),
          409: { description: answers.conflict, content: json(actionConflict) },
          429: throttled,
        },
      });
    sagaAction('retry', 'Re-send what a RUNNING or COMPENSATING saga waits for, or resume a FAILED saga’s compensations', {
      accepted: 'Done: the saga as it is now',
      badRequest: 'Not a uuid',
      conflict: 'The saga is COMPLETED or COMPENSATED, or keeps changing',
    });
    sagaAction(
      'abort',
      'Compensate a RUNNING saga',
      { accepted: 'Compensation started: the saga is COMPENSATING', badRequest: 'Not a uuid, or a bad body', conflict: 'The saga is not RUNNING' },
      { body: { required: false, content: json(abortRequest) } },
    );
    registry.registerPath({
      method: 'get',
      path: '/admin/stats',
      summary: 'Counts by status and type, step and saga latency',
      ...admin,
      responses: { 200: { description: 'The figures', content: json(sagaStats) }, 401: unauthorized, 429: throttled },
    });
    registry.registerPath({
      method: 'get',
      path: '/admin/definitions',
      summary: 'Every saga type as the orchestrator runs it: stages, steps, commands and compensations, who handles each, timeouts and retries',
      ...admin,
      responses: { 200: { description: 'The definitions', content: json(sagaDefinitions) }, 401: unauthorized, 429: throttled },
    });
    registry.registerPath({
      method: 'get',
      path: '/admin/parked',
      summary:
        'Messages the orchestrator parked instead of stopping its partition or its outbox (each participant counts its own in /metrics: dead_letters_parked, outbox_parked_messages)',
      ...admin,
      responses: { 200: { description: 'Parked dead letters and outbox rows', content: json(parkedMessages) }, 401: unauthorized, 429: throttled },
    });
    registry.registerPath({
      method: 'get',
      path: '/admin/stream',
      summary: 'Live saga changes (Server-Sent Events: `event: saga`, data = a SagaSummary)',
      ...admin,
      responses: {
        200: {
          description: 'An event stream, until the client leaves or its session is signed out',
          content: { 'text/event-stream': { schema: z.string().openapi({ example: 'event: saga\ndata: {"id":"…","status":"RUNNING",…}\n\n' }) } },
        },
        401: unauthorized,
        429: throttled,
        503: { ...errorAnswer('This replica serves as many streams as it may (100), `Retry-After` seconds'), headers: retryAfter },
      },
    });
    const html = { 'text/html': { schema: z.string() } };
    registry.registerPath({
      method: 'get',
      path: '/admin',
      summary: 'The admin web page (a sign-in form without credentials)',
      tags: [PAGE],
      responses: { 200: { description: 'The page', content: html }, 401: { description: 'The sign-in form', content: html } },
    });
    registry.registerPath({
      method: 'post',
      path: '/admin/session',
      summary: 'Sign in with the token (form field `token`): sets the session cookie',
      tags: [PAGE],
      request: { body: { required: true, content: { 'application/x-www-form-urlencoded': { schema: z.object({ token: z.string() }) } } } },
      responses: {
        303: { description: 'Signed in: to /admin, with the cookie (`Secure` over TLS)' },
        401: { description: 'Wrong token: the form again', content: html },
        429: {
          description: 'Too many failed attempts from this address (ADMIN_MAX_FAILED_ATTEMPTS in 15 minutes); refused whatever the token',
          headers: retryAfter,
          content: html,
        },
      },
    });
    registry.registerPath({
      method: 'delete',
      path: '/admin/session',
      summary: 'Sign out (needs `X-Admin-Request: 1`)',
      tags: [PAGE],
      request: { headers: z.object({ 'X-Admin-Request': z.enum(['1']) }) },
      responses: {
        204: { description: 'Signed out: the session is revoked on every replica, its streams end, the cookie is cleared' },
        403: { description: 'Not from the page' },
      },
    });
  },
};
