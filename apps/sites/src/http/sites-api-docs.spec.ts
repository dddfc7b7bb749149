import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { OpenAPIObject } from '@nestjs/swagger';
import { apiDocument, describedButMissing, OperatorTokens, undescribed } from '@sitesaga/service';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { ClientKeys } from './client-auth';
import { QuotaExceeded } from './client-quotas';
import { encodeCursor, presentSite, SiteRequests } from './site-requests';
import { SitesController } from './sites.controller';
import { SITES_API_DOCS } from './sites-api-docs';

@Module({
  controllers: [SitesController],
  providers: [
    { provide: SiteRequests, useValue: {} },
    { provide: ClientKeys, useValue: new ClientKeys([]) },
    { provide: OperatorTokens, useValue: new OperatorTokens([]) },
  ],
})
class SitesHttpOnly {}

let document: OpenAPIObject;
const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));

beforeAll(async () => {
  const app = await NestFactory.create(SitesHttpOnly, { logger: false });
  document = apiDocument(app, SITES_API_DOCS);
  await app.close();
});

/** An OpenAPI 3.0 schema as plain JSON Schema for ajv: local `$ref`s inlined, `nullable` as `anyOf [..., null]`. */
function inline(schema: unknown): Record<string, unknown> {
  if (Array.isArray(schema)) return schema.map(inline) as unknown as Record<string, unknown>;
  if (typeof schema !== 'object' || schema === null) return schema as Record<string, unknown>;
  const { $ref, nullable, ...rest } = schema as { $ref?: unknown; nullable?: unknown };
  if (typeof $ref === 'string') {
    return inline($ref.slice(2).split('/').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], document));
  }
  const plain = Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, inline(value)]));
  return nullable === true ? { anyOf: [plain, { type: 'null' }] } : plain;
}

const validatorOf = (name: string) => ajv.compile({ ...inline({ $ref: `#/components/schemas/${name}` }), additionalProperties: false });

const SITE = {
  id: '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
  name: 'my-blog',
  domain: 'blog.example.com',
  tagline: null,
  adminEmail: 'owner@example.com',
  sagaId: '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
  reason: null,
  createdAt: new Date('2025-01-01T00:00:00Z'),
  updatedAt: new Date('2025-01-01T00:00:05Z'),
  clientId: 'acme',
  createdUs: '1735689600000000',
};

describe('sites OpenAPI document', () => {
  it('describes exactly the routes of the sites controller', () => {
    expect(describedButMissing(document, SITES_API_DOCS)).toEqual([]);
    expect(undescribed(document, SITES_API_DOCS)).toEqual([]);
    expect(document.paths['/sites']?.post?.requestBody).toMatchObject({ content: { 'application/json': { schema: { $ref: '#/components/schemas/CreateSiteRequest' } } } });
  });

  it('takes the create body from the contract: what it requires, what it refuses', () => {
    const validate = validatorOf('CreateSiteRequest');
    expect(validate({ name: 'my-blog', domain: 'blog.example.com', adminEmail: 'owner@example.com' })).toBe(true);
    expect(validate({ name: 'my-blog', domain: 'blog.example.com', tagline: 'Hi', adminEmail: 'owner@example.com' })).toBe(true);
    expect(validate({ name: 'my-blog', domain: 'blog.example.com' })).toBe(false);
    expect(validate({ name: 'my-blog', domain: 'blog.example.com', adminEmail: 'owner@example.com', role: 'admin' })).toBe(false);
    expect(validate({ name: 42, domain: 'blog.example.com', adminEmail: 'owner@example.com' })).toBe(false);
  });

  it('documents the site as the API presents it', () => {
    const validate = validatorOf('Site');
    const base = SITE;
    for (const site of [{ ...base, status: 'ACTIVE' as const }, { ...base, status: 'FAILED' as const, reason: 'name is taken' }]) {
      const presented: unknown = JSON.parse(JSON.stringify(presentSite(site)));
      expect({ status: site.status, errors: validate(presented) ? null : validate.errors }).toEqual({ status: site.status, errors: null });
    }
  });

  it('documents the list as a page with the cursor of the next one', () => {
    const validate = validatorOf('SiteList');
    const site = JSON.parse(JSON.stringify(presentSite({ ...SITE, status: 'ACTIVE' as const }))) as unknown;
    const nextCursor = encodeCursor({ createdUs: SITE.createdUs, id: SITE.id });
    expect(validate({ items: [site], nextCursor }) ? null : validate.errors).toBeNull();
    expect(validate({ items: [], nextCursor: null }) ? null : validate.errors).toBeNull();
    expect(validate({ items: [site] })).toBe(false);
    const parameters = (document.paths['/sites']?.get?.parameters ?? []) as { name: string }[];
    expect(parameters.map((parameter) => parameter.name)).toEqual(expect.arrayContaining(['status', 'limit', 'cursor']));
  });

  it('documents the 429 of a quota as its answer reads', () => {
    const validate = validatorOf('QuotaExceeded');
    for (const refusal of [new QuotaExceeded('sites', 3, 60), new QuotaExceeded('createsPerMinute', 10, 12)]) {
      const body = refusal.getResponse();
      expect(validate(body) ? null : validate.errors).toBeNull();
    }
    expect(document.paths['/sites']?.post?.responses['429']).toMatchObject({ headers: { 'Retry-After': { schema: { type: 'integer' } } } });
  });

  it('names the client key (Bearer or X-Api-Key) on every route, and the refusals of authentication and ownership', () => {
    expect(document.components?.securitySchemes).toMatchObject({
      clientKey: { type: 'http', scheme: 'bearer' },
      apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
    });
    const operations = Object.entries(document.paths).flatMap(([path, item]) =>
      path.startsWith('/sites') ? (['get', 'post', 'delete'] as const).flatMap((method) => (item[method] ? [{ key: `${method} ${path}`, operation: item[method] }] : [])) : [],
    );
    expect(operations.map((each) => each.key).sort()).toEqual(['delete /sites/{id}', 'get /sites', 'get /sites/{id}', 'post /sites']);
    for (const { key, operation } of operations) {
      expect({ key, security: operation.security }).toEqual({ key, security: [{ clientKey: [] }, { apiKey: [] }] });
      expect({ key, unauthorized: operation.responses['401'] }).toMatchObject({ key, unauthorized: { headers: { 'WWW-Authenticate': {} } } });
    }
    expect(Object.keys(document.paths['/sites/{id}']?.get?.responses ?? {})).toContain('403');
    expect(Object.keys(document.paths['/sites/{id}']?.delete?.responses ?? {})).toContain('403');
  });
});
