import { DropDatabase, ProvisionStorage, ReleaseSite, ReserveSite } from '@sitesaga/contracts';
import { apiDocument, describedButMissing, undescribed } from '@sitesaga/service';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { randomUUID } from 'node:crypto';
import type { OpenAPIObject } from '@nestjs/swagger';
import { type AdminTestApp, startAdminTestApp } from '../admin/testing/admin-test-app';
import { SITE_SAGA_API_DOCS } from './site-saga-api-docs';

jest.setTimeout(60_000);

/**
 * The admin API's OpenAPI description against the real controllers: every route it
 * describes exists and every admin route is described, and real answers (success and
 * error) match the documented schemas.
 */
const TOKEN = `docs-${randomUUID()}`;
let harness: AdminTestApp;
let document: OpenAPIObject;
const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));

beforeAll(async () => {
  harness = await startAdminTestApp({ adminToken: TOKEN });
  document = apiDocument(harness.app, SITE_SAGA_API_DOCS);
});

afterAll(async () => {
  await harness?.close();
});

function resolve(ref: string): unknown {
  return ref
    .slice(2)
    .split('/')
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], document);
}

/** An OpenAPI 3.0 schema as plain JSON Schema for ajv: local `$ref`s inlined, `nullable` as `anyOf [..., null]`, no undocumented fields. */
function inline(schema: unknown): Record<string, unknown> {
  if (Array.isArray(schema)) return schema.map(inline) as unknown as Record<string, unknown>;
  if (typeof schema !== 'object' || schema === null) return schema as Record<string, unknown>;
  const { $ref, nullable, ...rest } = schema as { $ref?: unknown; nullable?: unknown };
  if (typeof $ref === 'string') return inline(resolve($ref));
  const plain: Record<string, unknown> = Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, inline(value)]));
  // Strict for the test: a field the API answers but the docs do not describe fails too.
  if (plain.type === 'object' && plain.properties !== undefined && !('additionalProperties' in plain)) plain.additionalProperties = false;
  return nullable === true ? { anyOf: [plain, { type: 'null' }] } : plain;
}

/** Calls the admin API and checks the answer against the documented schema of `operation` for its status. */
async function check(operation: string, method: string, path: string, expectedStatus: number, body?: unknown): Promise<unknown> {
  const response = await fetch(`${harness.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return checkAnswer(operation, response, expectedStatus);
}

/** Checks a received answer against the documented schema of `operation` for its status. */
async function checkAnswer(operation: string, response: Response, expectedStatus: number): Promise<unknown> {
  const answer: unknown = await response.json();
  expect({ operation, status: response.status }).toEqual({ operation, status: expectedStatus });
  const [verb, route] = operation.split(' ') as [string, string];
  const responses = document.paths[route]?.[verb.toLowerCase() as 'get' | 'post']?.responses as Record<string, { content?: Record<string, { schema: unknown }> }>;
  const schema = responses?.[String(expectedStatus)]?.content?.['application/json']?.schema;
  expect({ operation, status: expectedStatus, documented: schema !== undefined }).toEqual({ operation, status: expectedStatus, documented: true });
  const validate = ajv.compile(inline(schema));
  expect({ operation, status: expectedStatus, errors: validate(answer) ? null : validate.errors }).toEqual({ operation, status: expectedStatus, errors: null });
  return answer;
}

describe('site-saga OpenAPI document', () => {
  it('describes exactly the admin routes the app serves', () => {
    expect(describedButMissing(document, SITE_SAGA_API_DOCS)).toEqual([]);
    expect(undescribed(document, SITE_SAGA_API_DOCS)).toEqual([]);
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/admin/sagas', '/admin/sagas/{id}', '/admin/stats', '/admin/stream']));
    expect(document.paths['/admin/sagas']?.get?.security).toEqual([{ bearer: [] }, { session: [] }]);
  });

  it('matches what the admin API really answers', async () => {
    const running = await harness.fixtures.start('docs-running');
    await harness.fixtures.succeed(running, ReserveSite, { name: 'docs-running', domain: 'docs-running.example.com' });
    const refused = await harness.fixtures.start('docs-refused');
    await harness.fixtures.succeed(refused, ReserveSite, { name: 'docs-refused', domain: 'docs-refused.example.com' });
    await harness.fixtures.fail(refused, ProvisionStorage, 'business', 'quota exceeded');

    await check('GET /admin/sagas', 'GET', '/admin/sagas?limit=1', 200);
    await check('GET /admin/sagas', 'GET', '/admin/sagas?status=nope', 400);
    await check('GET /admin/sagas/{id}', 'GET', `/admin/sagas/${running}`, 200);
    await check('GET /admin/sagas/{id}', 'GET', `/admin/sagas/${refused}`, 200);
    await check('GET /admin/sagas/{id}', 'GET', `/admin/sagas/${randomUUID()}`, 404);
    await check('GET /admin/stats', 'GET', '/admin/stats', 200);
    await check('POST /admin/sagas/{id}/retry', 'POST', `/admin/sagas/${running}/retry`, 202);
    await check('POST /admin/sagas/{id}/abort', 'POST', `/admin/sagas/${running}/abort`, 202, { reason: 'checking the docs' });
    await check('POST /admin/sagas/{id}/abort', 'POST', `/admin/sagas/${running}/abort`, 409);
    await harness.fixtures.succeed(refused, DropDatabase);
    await harness.fixtures.succeed(refused, ReleaseSite);
    await check('POST /admin/sagas/{id}/retry', 'POST', `/admin/sagas/${refused}/retry`, 409);
  });

  it('matches what the bulk operation and audit log routes really answer', async () => {
    await harness.fixtures.start('docs-bulk-one');
    await harness.fixtures.start('docs-bulk-two');
    const filter = { status: 'RUNNING', createdFrom: '2000-01-01T00:00:00Z' };
    await check('POST /admin/bulk-operations', 'POST', '/admin/bulk-operations', 200, { action: 'retry', filter, dryRun: true });
    await check('POST /admin/bulk-operations', 'POST', '/admin/bulk-operations', 400, { action: 'retry', filter: { status: 'NOPE' } });
    // One a second: still running when the same filter is asked again.
    const started = (await check('POST /admin/bulk-operations', 'POST', '/admin/bulk-operations', 202, { action: 'retry', filter, ratePerSecond: 1 })) as { id: string };
    await check('POST /admin/bulk-operations', 'POST', '/admin/bulk-operations', 409, { action: 'retry', filter, ratePerSecond: 1 });
    await check('GET /admin/bulk-operations/{id}', 'GET', `/admin/bulk-operations/${started.id}`, 200);
    await check('GET /admin/bulk-operations/{id}', 'GET', `/admin/bulk-operations/${randomUUID()}`, 404);
    await check('GET /admin/bulk-operations/{id}/items', 'GET', `/admin/bulk-operations/${started.id}/items?limit=1`, 200);
    await check('GET /admin/bulk-operations/{id}/items', 'GET', `/admin/bulk-operations/${started.id}/items?outcome=maybe`, 400);
    await check('POST /admin/bulk-operations/{id}/cancel', 'POST', `/admin/bulk-operations/${started.id}/cancel`, 202);
    await check('GET /admin/bulk-operations', 'GET', '/admin/bulk-operations?limit=1', 200);
    await check('GET /admin/bulk-operations', 'GET', '/admin/bulk-operations?limit=0', 400);
    const log = (await check('GET /admin/audit-log', 'GET', '/admin/audit-log', 200)) as { items: { action: string; outcome: string }[] };
    expect(log.items.map((entry) => `${entry.action} ${entry.outcome}`)).toEqual(expect.arrayContaining(['bulk-cancel accepted', 'bulk-retry started', 'bulk-retry refused']));
    await check('GET /admin/audit-log', 'GET', '/admin/audit-log?action=drop', 400);
  });

  it('documents the refusals as they are answered: 401, 429 with Retry-After, the stream cap 503', async () => {
    // Every admin route names the throttling answer and its header.
    for (const [path, item] of Object.entries(document.paths).filter(([path]) => path.startsWith('/admin/'))) {
      for (const [method, operation] of Object.entries(item as Record<string, { responses: Record<string, { headers?: object }> }>)) {
        if (path === '/admin/session' && method === 'delete') continue;
        if (path === '/admin/bulk') continue; // a page, as /admin: no token checked, the sign-in form instead
        expect({ path, method, throttled: operation.responses['429'] }).toMatchObject({ path, method, throttled: { headers: { 'Retry-After': {} } } });
      }
    }
    const throttled = await startAdminTestApp({ adminToken: TOKEN, stream: { maxClients: 1 }, failedAttempts: { limit: 3, windowMs: 60_000 } });
    const controller = new AbortController();
    try {
      const bearer = { authorization: `Bearer ${TOKEN}` };
      const first = await fetch(`${throttled.url}/admin/stream`, { headers: bearer, signal: controller.signal });
      expect(first.status).toBe(200);
      const capped = await fetch(`${throttled.url}/admin/stream`, { headers: bearer });
      expect(capped.headers.get('retry-after')).toBe('10');
      await checkAnswer('GET /admin/stream', capped, 503);

      const wrong = { authorization: `Bearer not-${TOKEN}` };
      // 3 failed attempts allowed in the window: the 4th try is refused whatever the token.
      for (let attempt = 0; attempt < 3; attempt += 1) {
        await checkAnswer('GET /admin/stats', await fetch(`${throttled.url}/admin/stats`, { headers: wrong }), 401);
      }
      const refused = await fetch(`${throttled.url}/admin/stats`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      await checkAnswer('GET /admin/stats', refused, 429);
    } finally {
      controller.abort();
      await throttled.close();
    }
  });
});
