import { createSitePayload, jsonSchemaOf } from '@sitesaga/contracts';
import { type ApiDocsOptions, errorAnswer } from '@sitesaga/messaging';
import { SITE_STATUSES } from '../domain/site-status';
import { BODY_LIMIT } from './http-errors.filter';
import { LIST_LIMIT } from './request-validation';

const json = (schema: object) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const siteIdParameter = {
  name: 'id',
  in: 'path' as const,
  required: true,
  description: 'The site id (a uuid)',
  schema: { type: 'string' as const, format: 'uuid' },
};
const requestIdHeader = {
  name: 'X-Request-Id',
  in: 'header' as const,
  required: false,
  description: 'Your request id (8–100 of `A-Za-z0-9._:-`): it becomes the saga’s correlation id and comes back in the answer; a new one otherwise.',
  schema: { type: 'string' as const, pattern: '^[A-Za-z0-9._:-]{8,100}$' },
};
/** Every /sites route: a client key (its own sites) or an operator token (every site). */
const CLIENT_SECURITY: Record<string, string[]>[] = [{ clientKey: [] }, { apiKey: [] }];
/** The answers of authentication, ownership and quotas. */
const unauthorized = {
  description: 'No key, or not a valid one (header `WWW-Authenticate: Bearer`)',
  headers: { 'WWW-Authenticate': { description: '`Bearer realm="sites"`', schema: { type: 'string' as const } } },
  content: json({ $ref: '#/components/schemas/ErrorBody' }),
};
const forbidden = errorAnswer('The site belongs to another client');
const tooMany = {
  description: 'A quota of the client is used up: sites held (`SITES_QUOTA_SITES`) or creations per minute (`SITES_QUOTA_CREATES_PER_MINUTE`)',
  headers: { 'Retry-After': { description: 'Seconds to wait before asking again', schema: { type: 'integer' as const } } },
  content: json(ref('QuotaExceeded')),
};

const acceptedHeaders = {
  'X-Request-Id': { description: 'The request id: the saga’s correlation id', schema: { type: 'string' as const } },
};

/**
 * The sites HTTP API (SPEC.md: `POST /sites` answers at once with a PENDING site while the
 * saga runs). The create body is the contract's own `createSitePayload`, converted, so
 * the docs accept what the API accepts.
 */
export const SITES_API_DOCS: ApiDocsOptions = {
  title: 'sites API',
  description: [
    'Create, read and delete sites. A create or delete answers at once (202) while a saga does the work in the background;',
    'poll `GET /sites/{id}` for the outcome (`ACTIVE`, `FAILED` with a reason, `DELETED`).',
    'Every 4xx reads `{ message, errors: [{ field, message }] }`.',
    'Every route takes a client key (`Authorization: Bearer <key>` or `X-Api-Key: <key>`, keys from `SITES_CLIENT_KEYS`):',
    'a client sees and deletes only the sites it asked for (403 for another client\'s); an operator token (`ADMIN_TOKEN`, `ADMIN_TOKENS`) sees every site.',
  ].join(' '),
  securitySchemes: {
    clientKey: { type: 'http', scheme: 'bearer', description: 'A client key of SITES_CLIENT_KEYS, or an operator token' },
    apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'The same key in a header of its own' },
  },
  schemas: {
    CreateSiteRequest: {
      ...(jsonSchemaOf(createSitePayload, { target: 'openApi3' }) as object),
      description: 'Names are DNS labels (lowercase letters, digits, hyphens, 3–63 characters); domains are host names (ASCII, `xn--` form for international ones). Both must be sent in canonical form (lower case, no surrounding spaces, no trailing dot) and are never rewritten: anything else is refused with a suggestion (`did you mean "my-blog"?`). A domain has at most 92 characters and an admin email at most 100 (they must fit the site\'s WordPress users table). No field may contain control characters.',
      example: { name: 'my-blog', domain: 'blog.example.com', tagline: 'Notes from the road', adminEmail: 'owner@example.com' },
    },
    Accepted: {
      type: 'object',
      required: ['siteId', 'sagaId', 'status'],
      properties: {
        siteId: { type: 'string', format: 'uuid' },
        sagaId: { type: 'string', format: 'uuid', description: 'The saga doing the work (for a create, the site id)' },
        status: { type: 'string', enum: ['PENDING', 'DELETING'] },
      },
    },
    Site: {
      type: 'object',
      required: ['id', 'name', 'domain', 'tagline', 'adminEmail', 'status', 'sagaId', 'url', 'createdAt', 'updatedAt'],
      properties: {
        id: { type: 'string', format: 'uuid' },
        name: { type: 'string' },
        domain: { type: 'string' },
        tagline: { type: 'string', nullable: true },
        adminEmail: { type: 'string', nullable: true },
        status: { type: 'string', enum: [...SITE_STATUSES] },
        sagaId: { type: 'string', format: 'uuid', description: 'The saga that last acted on the site' },
        url: { type: 'string', format: 'uri', nullable: true, description: 'Set once the site is ACTIVE' },
        reason: { type: 'string', description: 'Why a request never became a live site' },
        createdAt: { type: 'string', format: 'date-time' },
        updatedAt: { type: 'string', format: 'date-time' },
      },
    },
    SiteList: {
      type: 'object',
      required: ['items', 'nextCursor'],
      properties: {
        items: { type: 'array', items: ref('Site') },
        nextCursor: { type: 'string', nullable: true, description: 'Pass as `cursor` for the next page; null on the last page' },
      },
    },
    QuotaExceeded: {
      type: 'object',
      required: ['message', 'errors', 'quota', 'limit'],
      properties: {
        message: { type: 'string' },
        errors: { type: 'array', items: ref('FieldError') },
        quota: { type: 'string', enum: ['sites', 'createsPerMinute'] },
        limit: { type: 'integer' },
      },
    },
    DeleteConflict: {
      type: 'object',
      required: ['message', 'errors', 'siteId', 'status'],
      properties: {
        message: { type: 'string' },
        errors: { type: 'array', items: ref('FieldError') },
        siteId: { type: 'string', format: 'uuid' },
        status: { type: 'string', enum: [...SITE_STATUSES] },
      },
    },
  },
  operations: {
    'POST /sites': {
      summary: 'Ask for a site: answered at once with a PENDING site while the saga creates it',
      tags: ['sites'],
      security: CLIENT_SECURITY,
      parameters: [
        {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description: 'Sending the same key with the same body again answers with the same ids and starts nothing (header `Idempotent-Replayed: true`); with another body, 422.',
          schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,200}$' },
        },
        requestIdHeader,
      ],
      requestBody: { required: true, description: `JSON, at most ${BODY_LIMIT}`, content: json(ref('CreateSiteRequest')) },
      responses: {
        202: {
          description: 'Accepted: the site is PENDING',
          headers: { ...acceptedHeaders, 'Idempotent-Replayed': { description: '`true` when an Idempotency-Key matched an earlier request', schema: { type: 'string' } } },
          content: json(ref('Accepted')),
        },
        400: errorAnswer('Invalid body, header or JSON, with a reason per field'),
        401: unauthorized,
        409: errorAnswer('The name or the domain is taken'),
        429: tooMany,
        413: errorAnswer(`Body over ${BODY_LIMIT}`),
        415: errorAnswer('Not JSON'),
        422: errorAnswer('The Idempotency-Key was used with another body'),
      },
    },
    'GET /sites': {
      summary: 'List the caller\'s sites (an operator: every site), newest first, a page at a time',
      tags: ['sites'],
      security: CLIENT_SECURITY,
      parameters: [
        { name: 'status', in: 'query', required: false, schema: { type: 'string', enum: [...SITE_STATUSES] } },
        { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: LIST_LIMIT.max, default: LIST_LIMIT.default } },
        { name: 'cursor', in: 'query', required: false, description: 'The `nextCursor` of the previous page', schema: { type: 'string' } },
      ],
      responses: {
        200: { description: 'A page of sites', content: json(ref('SiteList')) },
        400: errorAnswer('An unknown or invalid parameter'),
        401: unauthorized,
      },
    },
    'GET /sites/{id}': {
      summary: 'A site and its status',
      tags: ['sites'],
      security: CLIENT_SECURITY,
      parameters: [siteIdParameter],
      responses: {
        200: { description: 'The site', content: json(ref('Site')) },
        400: errorAnswer('Not a uuid'),
        401: unauthorized,
        403: forbidden,
        404: errorAnswer('No such site'),
      },
    },
    'DELETE /sites/{id}': {
      summary: 'Delete an ACTIVE or FAILED site: answered at once (DELETING) while the saga removes it',
      tags: ['sites'],
      security: CLIENT_SECURITY,
      parameters: [siteIdParameter, requestIdHeader],
      responses: {
        202: { description: 'Accepted: the site is DELETING', headers: acceptedHeaders, content: json(ref('Accepted')) },
        400: errorAnswer('Not a uuid'),
        401: unauthorized,
        403: forbidden,
        404: errorAnswer('No such site'),
        409: { description: 'The site is PENDING, DELETING or DELETED', content: json(ref('DeleteConflict')) },
      },
    },
  },
};
