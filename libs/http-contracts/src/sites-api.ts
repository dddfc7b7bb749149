import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { createSitePayload, jsonSchemaOf } from '@sitesaga/contracts';
import { errorAnswer, fieldError } from './service-api';
import { type HttpApi, json, timestamp, z } from './zod-openapi';

/*
 * The sites service's HTTP API, every shape of it (SPEC.md: `POST /sites` answers at once
 * with a PENDING site while the saga runs). apps/sites answers with these shapes, the CLI
 * parses them, and the OpenAPI document at /docs is generated from them.
 */

/** A site record's life: `PENDING → ACTIVE`, `FAILED`, `DELETING → DELETED` (apps/sites/src/domain/site-status.ts). */
export const SITE_STATUSES = ['PENDING', 'ACTIVE', 'FAILED', 'DELETING', 'DELETED'] as const;
export const siteStatus = z.enum(SITE_STATUSES);

export const SITES_LIST_LIMIT = { default: 100, max: 500 } as const;
/** The largest request body the sites API reads. */
export const SITES_BODY_LIMIT = '16kb';

export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;
export const REQUEST_ID = /^[A-Za-z0-9._:-]{8,100}$/;

const uuid = () => z.string().uuid();

/** `202` of `POST /sites` and `DELETE /sites/{id}`. */
export const siteRequestAccepted = z
  .object({
    siteId: uuid(),
    sagaId: uuid().openapi({ description: 'The saga doing the work (for a create, the site id)' }),
    status: z.enum(['PENDING', 'DELETING']),
  })
  .openapi('Accepted');
export type SiteRequestAccepted = z.infer<typeof siteRequestAccepted>;

/** A site as the API presents it. */
export const siteView = z
  .object({
    id: uuid(),
    name: z.string(),
    domain: z.string(),
    tagline: z.string().nullable(),
    adminEmail: z.string().nullable(),
    status: siteStatus,
    sagaId: uuid().openapi({ description: 'The saga that last acted on the site' }),
    url: z.string().url().nullable().openapi({ format: 'uri', description: 'Set once the site is ACTIVE' }),
    reason: z.string().optional().openapi({ description: 'Why a request never became a live site' }),
    createdAt: timestamp(),
    updatedAt: timestamp(),
  })
  .openapi('Site');
export type SiteView = z.infer<typeof siteView>;

export const siteList = z.object({ items: z.array(siteView) }).openapi('SiteList');

export const siteDeleteConflict = z.object({ message: z.string(), errors: z.array(fieldError), siteId: uuid(), status: siteStatus }).openapi('DeleteConflict');

/** `GET /sites` query, as documented (apps/sites/src/http/request-validation.ts checks it). */
export const siteListQuery = z.object({
  status: siteStatus.optional(),
  limit: z.coerce.number().int().min(1).max(SITES_LIST_LIMIT.max).default(SITES_LIST_LIMIT.default).optional(),
});

const siteIdParameter = z.object({ id: uuid().openapi({ param: { description: 'The site id (a uuid)' } }) });
/** An optional request header of this pattern. */
const optionalHeader = (name: string, pattern: RegExp, description: string) =>
  z
    .string()
    .regex(pattern)
    .optional()
    .openapi({ param: { name, in: 'header', description } });
const requestIdHeader = optionalHeader(
  'X-Request-Id',
  REQUEST_ID,
  'Your request id (8–100 of `A-Za-z0-9._:-`): it becomes the saga’s correlation id and comes back in the answer; a new one otherwise.',
);
const idempotencyKeyHeader = optionalHeader(
  'Idempotency-Key',
  IDEMPOTENCY_KEY,
  'Sending the same key with the same body again answers with the same ids and starts nothing (header `Idempotent-Replayed: true`); with another body, 422.',
);
const acceptedHeaders = { 'X-Request-Id': { description: 'The request id: the saga’s correlation id', schema: { type: 'string' as const } } };

/** The create body is the contract's own `createSitePayload` (the CreateSite command's payload), converted: the docs accept what the API accepts. */
const createSiteRequest = () => ({
  ...(jsonSchemaOf(createSitePayload, { target: 'openApi3' }) as object),
  description:
    'Names are DNS labels (lowercase letters, digits, hyphens, 3–63 characters); domains are host names (ASCII, `xn--` form for international ones). Both must be sent in canonical form (lower case, no surrounding spaces, no trailing dot) and are never rewritten: anything else is refused with a suggestion (`did you mean "my-blog"?`). A domain has at most 92 characters and an admin email at most 100 (they must fit the site\'s WordPress users table). No field may contain control characters.',
  example: { name: 'my-blog', domain: 'blog.example.com', tagline: 'Notes from the road', adminEmail: 'owner@example.com' },
});

const TAG = 'sites';

export const SITES_API: HttpApi = {
  title: 'sites API',
  description: [
    'Create, read and delete sites. A create or delete answers at once (202) while a saga does the work in the background;',
    'poll `GET /sites/{id}` for the outcome (`ACTIVE`, `FAILED` with a reason, `DELETED`).',
    'Every 4xx reads `{ message, errors: [{ field, message }] }`.',
  ].join(' '),
  tags: [TAG],
  register(registry: OpenAPIRegistry) {
    const createBody = registry.registerComponent('schemas', 'CreateSiteRequest', createSiteRequest());
    registry.registerPath({
      method: 'post',
      path: '/sites',
      summary: 'Ask for a site: answered at once with a PENDING site while the saga creates it',
      tags: [TAG],
      request: {
        headers: [idempotencyKeyHeader, requestIdHeader],
        body: { required: true, description: `JSON, at most ${SITES_BODY_LIMIT}`, content: { 'application/json': { schema: createBody.ref } } },
      },
      responses: {
        202: {
          description: 'Accepted: the site is PENDING',
          headers: {
            ...acceptedHeaders,
            'Idempotent-Replayed': { description: '`true` when an Idempotency-Key matched an earlier request', schema: { type: 'string' } },
          },
          content: json(siteRequestAccepted),
        },
        400: errorAnswer('Invalid body, header or JSON, with a reason per field'),
        409: errorAnswer('The name or the domain is taken'),
        413: errorAnswer(`Body over ${SITES_BODY_LIMIT}`),
        415: errorAnswer('Not JSON'),
        422: errorAnswer('The Idempotency-Key was used with another body'),
      },
    });
    registry.registerPath({
      method: 'get',
      path: '/sites',
      summary: 'List sites, newest first',
      tags: [TAG],
      request: { query: siteListQuery },
      responses: { 200: { description: 'The sites', content: json(siteList) }, 400: errorAnswer('An unknown or invalid parameter') },
    });
    registry.registerPath({
      method: 'get',
      path: '/sites/{id}',
      summary: 'A site and its status',
      tags: [TAG],
      request: { params: siteIdParameter },
      responses: { 200: { description: 'The site', content: json(siteView) }, 400: errorAnswer('Not a uuid'), 404: errorAnswer('No such site') },
    });
    registry.registerPath({
      method: 'delete',
      path: '/sites/{id}',
      summary: 'Delete an ACTIVE or FAILED site: answered at once (DELETING) while the saga removes it',
      tags: [TAG],
      request: { params: siteIdParameter, headers: [requestIdHeader] },
      responses: {
        202: { description: 'Accepted: the site is DELETING', headers: acceptedHeaders, content: json(siteRequestAccepted) },
        400: errorAnswer('Not a uuid'),
        404: errorAnswer('No such site'),
        409: { description: 'The site is PENDING, DELETING or DELETED', content: json(siteDeleteConflict) },
      },
    });
  },
};
