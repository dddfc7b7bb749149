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
  ].join(' '),
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
    SiteList: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('Site') } } },
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
        409: errorAnswer('The name or the domain is taken'),
        413: errorAnswer(`Body over ${BODY_LIMIT}`),
        415: errorAnswer('Not JSON'),
        422: errorAnswer('The Idempotency-Key was used with another body'),
      },
    },
    'GET /sites': {
      summary: 'List sites, newest first',
      tags: ['sites'],
      parameters: [
        { name: 'status', in: 'query', required: false, schema: { type: 'string', enum: [...SITE_STATUSES] } },
        { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: LIST_LIMIT.max, default: LIST_LIMIT.default } },
      ],
      responses: { 200: { description: 'The sites', content: json(ref('SiteList')) }, 400: errorAnswer('An unknown or invalid parameter') },
    },
    'GET /sites/{id}': {
      summary: 'A site and its status',
      tags: ['sites'],
      parameters: [siteIdParameter],
      responses: { 200: { description: 'The site', content: json(ref('Site')) }, 400: errorAnswer('Not a uuid'), 404: errorAnswer('No such site') },
    },
    'DELETE /sites/{id}': {
      summary: 'Delete an ACTIVE or FAILED site: answered at once (DELETING) while the saga removes it',
      tags: ['sites'],
      parameters: [siteIdParameter, requestIdHeader],
      responses: {
        202: { description: 'Accepted: the site is DELETING', headers: acceptedHeaders, content: json(ref('Accepted')) },
        400: errorAnswer('Not a uuid'),
        404: errorAnswer('No such site'),
        409: { description: 'The site is PENDING, DELETING or DELETED', content: json(ref('DeleteConflict')) },
      },
    },
  },
};
