import { randomBytes, randomUUID } from 'node:crypto';
import { databaseUrlFor } from '@sitesaga/messaging';
import type { Kafka } from 'kafkajs';
import { Client } from 'pg';
import { testKafka } from '../support/kafka-probe';
import { operatorHeaders, type ServiceProcess, startService, TEST_ADMIN_TOKEN } from '../support/service-process';
import { createTopicNamespace, type TopicNamespace } from '../support/topic-namespace';

/**
 * Who may do what, tried against the services as processes: clients of the sites API
 * (keys, ownership, quotas, pages), fault injection (off unless switched on, then an
 * operator's), and production mode (no start without real secrets, no secret printed).
 */
jest.setTimeout(120_000);

const prefix = `e2e_access_${randomBytes(3).toString('hex')}_`;
const run = randomBytes(3).toString('hex');
const ACME = ['acme-key-one-0123456789abcdef', 'acme-key-two-0123456789abcdef'] as const;
const GLOBEX = 'globex-key-0123456789abcdef01';
const INITECH = 'initech-key-0123456789abcdef0';
const PER_MINUTE = 4;
const MAX_SITES = 6;

let kafka: Kafka;
let namespace: TopicNamespace;
let sites: ServiceProcess;
let database: Client;

const baseEnv = (): Record<string, string> => ({
  DATABASE_NAME_PREFIX: prefix,
  KAFKA_TOPIC_PREFIX: namespace.prefix,
  HANDLER_BACKOFF_MS: '20',
  OUTBOX_POLL_MS: '200',
});

beforeAll(async () => {
  kafka = testKafka('access-e2e');
  namespace = await createTopicNamespace(kafka, 'access');
  sites = await startService('sites', {
    ...baseEnv(),
    // acme has two keys (a rotation in progress); the operator token is ADMIN_TOKEN.
    SITES_CLIENT_KEYS: `acme:${ACME[0]},globex:${GLOBEX},acme:${ACME[1]},initech:${INITECH}`,
    SITES_QUOTA_CREATES_PER_MINUTE: String(PER_MINUTE),
    SITES_QUOTA_SITES: String(MAX_SITES),
  });
  database = new Client({ connectionString: databaseUrlFor('sites', { ...process.env, DATABASE_NAME_PREFIX: prefix }) });
  await database.connect();
});

afterAll(async () => {
  await sites?.stop();
  await database?.end();
  await namespace?.drop();
  const admin = new Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`${prefix}%`]);
  for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  await admin.end();
});

type Answer = { status: number; headers: Headers; body: Record<string, any> | null };

const call = async (method: string, path: string, key: string | null, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> => {
  const response = await fetch(`${sites.url}${path}`, {
    method,
    headers: {
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, any>) : null };
};

let counter = 0;
const newSite = () => {
  counter += 1;
  const name = `acc-${run}-${counter}`;
  return { name, domain: `${name}.example.com`, adminEmail: 'owner@example.com' };
};

describe('the sites API', () => {
  it('answers 401 on every route without a key, or with a wrong one, and says how to authenticate', async () => {
    const id = randomUUID();
    const routes: [string, string, unknown?][] = [
      ['GET', '/sites'],
      ['GET', `/sites/${id}`],
      ['POST', '/sites', newSite()],
      ['DELETE', `/sites/${id}`],
    ];
    for (const [method, path, body] of routes) {
      for (const key of [null, 'not-a-key-of-anyone-0123456789', `${ACME[0]}x`]) {
        const answer = await call(method, path, key, body);
        expect({ route: `${method} ${path}`, key, status: answer.status }).toEqual({ route: `${method} ${path}`, key, status: 401 });
        expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(answer.body).toMatchObject({ errors: [{ field: 'Authorization' }] });
      }
    }
    // Nothing was written by the refused POSTs.
    expect((await database.query(`SELECT count(*)::int AS n FROM site_requests`)).rows[0].n).toBe(0);
    // Health, metrics and the API document stay open (probes, scrapers).
    expect((await fetch(`${sites.url}/health`)).status).toBe(200);
  });

  it('accepts either of a client\'s keys, shows a client only its own sites and 403s another client\'s; an operator sees all', async () => {
    const created = await call('POST', '/sites', ACME[0], newSite());
    expect(created.status).toBe(202);
    const siteId = created.body!.siteId as string;
    expect(await call('GET', `/sites/${siteId}`, ACME[1])).toMatchObject({ status: 200, body: { id: siteId, status: 'PENDING' } });

    const other = await call('GET', `/sites/${siteId}`, GLOBEX);
    expect(other).toMatchObject({ status: 403, body: { errors: [{ field: 'id', message: 'is not one of your sites' }] } });
    expect(JSON.stringify(other.body)).not.toContain('owner@example.com');
    expect(await call('DELETE', `/sites/${siteId}`, GLOBEX)).toMatchObject({ status: 403 });
    expect((await call('GET', '/sites', GLOBEX)).body!.items.map((site: { id: string }) => site.id)).not.toContain(siteId);
    expect((await call('GET', '/sites', ACME[1])).body!.items.map((site: { id: string }) => site.id)).toContain(siteId);

    expect(await call('GET', `/sites/${siteId}`, TEST_ADMIN_TOKEN)).toMatchObject({ status: 200, body: { id: siteId } });
    expect((await call('GET', '/sites?limit=500', TEST_ADMIN_TOKEN)).body!.items.map((site: { id: string }) => site.id)).toContain(siteId);
    // The owner's own DELETE passes the ownership check (a PENDING site is then a 409).
    expect(await call('DELETE', `/sites/${siteId}`, ACME[0])).toMatchObject({ status: 409, body: { errors: [{ message: 'is still being created' }] } });
    // Idempotency keys are per client: globex's key equal to acme's finds nothing of acme's.
    const key = `same-key-${run}`;
    const mine = await call('POST', '/sites', ACME[0], newSite(), { 'Idempotency-Key': key });
    const theirs = await call('POST', '/sites', GLOBEX, newSite(), { 'Idempotency-Key': key });
    expect(theirs.status).toBe(202);
    expect(theirs.body!.siteId).not.toBe(mine.body!.siteId);
  });

  it('pages GET /sites with a cursor until every site of the client was seen once', async () => {
    const mine = new Set<string>((await call('GET', '/sites?limit=500', ACME[0])).body!.items.map((site: { id: string }) => site.id));
    expect(mine.size).toBe(2);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 5; page += 1) {
      const answer: Answer = await call('GET', `/sites?limit=1${cursor ? `&cursor=${cursor}` : ''}`, ACME[0]);
      expect(answer.status).toBe(200);
      seen.push(...answer.body!.items.map((site: { id: string }) => site.id));
      cursor = answer.body!.nextCursor as string | null;
      if (!cursor) break;
    }
    expect(seen.sort()).toEqual([...mine].sort());
    expect(await call('GET', '/sites?cursor=bm90LWEtY3Vyc29y', ACME[0])).toMatchObject({ status: 400, body: { errors: [{ field: 'cursor' }] } });
  });

  it('answers 429 with Retry-After past the creations per minute, for that client only', async () => {
    // globex asked once already (previous test).
    const answers: Answer[] = [];
    for (let index = 0; index < PER_MINUTE; index += 1) answers.push(await call('POST', '/sites', GLOBEX, newSite()));
    expect(answers.map((answer) => answer.status)).toEqual([...Array(PER_MINUTE - 1).fill(202), 429]);
    const refused = answers[PER_MINUTE - 1]!;
    expect(refused.body).toMatchObject({ quota: 'createsPerMinute', limit: PER_MINUTE });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Nothing was sent for the refused request; another client and an operator are not held back.
    expect((await database.query(`SELECT count(*)::int AS n FROM site_requests WHERE client_id = 'globex'`)).rows[0].n).toBe(PER_MINUTE);
    expect((await call('POST', '/sites', INITECH, newSite())).status).toBe(202);
    expect((await call('POST', '/sites', TEST_ADMIN_TOKEN, newSite())).status).toBe(202);
  });

  it('answers 429 when a client holds as many sites as its quota allows', async () => {
    // initech's earlier requests, made long ago (out of the per-minute window) and still live.
    for (let index = 0; index < MAX_SITES - 1; index += 1) {
      const site = newSite();
      await database.query(
        `INSERT INTO site_requests (site_id, request_hash, name, domain, admin_email, correlation_id, client_id, created_at)
         VALUES ($1, 'seeded', $2, $3, $4, 'seeded', 'initech', now() - interval '1 hour')`,
        [randomUUID(), site.name, site.domain, site.adminEmail],
      );
    }
    const refused = await call('POST', '/sites', INITECH, newSite());
    expect(refused).toMatchObject({ status: 429, body: { quota: 'sites', limit: MAX_SITES } });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('fault injection', () => {
  const faults = async (service: ServiceProcess, method: 'GET' | 'PUT', headers: Record<string, string> = {}) =>
    (
      await fetch(`${service.url}/faults`, {
        method,
        headers: { 'content-type': 'application/json', ...headers },
        ...(method === 'PUT' ? { body: JSON.stringify({ rules: [{ command: 'ProvisionStorage', mode: 'crash', rate: 1 }] }) } : {}),
      })
    ).status;

  it('does not exist unless FAULTS_ENABLED=1, and then takes an operator token', async () => {
    const storageRoot = `/tmp/sitesaga-access-${run}`;
    const off = await startService('storage', { ...baseEnv(), STORAGE_ROOT: storageRoot, FAULTS_ENABLED: '' });
    try {
      expect([await faults(off, 'GET'), await faults(off, 'PUT'), await faults(off, 'PUT', operatorHeaders())]).toEqual([404, 404, 404]);
    } finally {
      await off.stop();
    }
    const on = await startService('storage', { ...baseEnv(), STORAGE_ROOT: storageRoot, FAULTS_ENABLED: '1' });
    try {
      expect(await faults(on, 'PUT')).toBe(401);
      expect(await faults(on, 'PUT', { authorization: 'Bearer not-the-operator-token-0000' })).toBe(401);
      expect(await faults(on, 'GET')).toBe(401);
      expect(await faults(on, 'GET', operatorHeaders())).toBe(200);
    } finally {
      await on.stop();
    }
    // Production never has it, switched on or not; and FAULTS without the switch is refused.
    const production = await startService('storage', { ...baseEnv(), STORAGE_ROOT: storageRoot, FAULTS_ENABLED: '1', NODE_ENV: 'production' });
    try {
      expect(await faults(production, 'PUT', operatorHeaders())).toBe(404);
    } finally {
      await production.stop();
    }
    await expect(startService('storage', { ...baseEnv(), STORAGE_ROOT: storageRoot, FAULTS_ENABLED: '', FAULTS: 'ProvisionStorage=crash@1' })).rejects.toThrow(
      /FAULTS needs FAULTS_ENABLED=1/,
    );
  });
});

describe('operators', () => {
  it('throttles sign-ins and bearer attempts per address after N failures, the right token included', async () => {
    const token = `operator-token-${run}-0123456789`;
    const saga = await startService('site-saga', { ...baseEnv(), ADMIN_TOKEN: token, ADMIN_MAX_FAILED_ATTEMPTS: '3' });
    try {
      const signIn = (candidate: string) =>
        fetch(`${saga.url}/admin/session`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token: candidate }).toString(),
        });
      expect((await signIn(token)).status).toBe(303);
      const wrong = [];
      for (let attempt = 0; attempt < 3; attempt += 1) wrong.push((await signIn(`wrong-${attempt}-0123456789abcdef`)).status);
      expect(wrong).toEqual([401, 401, 401]);
      const blocked = await signIn(token);
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      const bearer = await fetch(`${saga.url}/admin/sagas`, { headers: { authorization: `Bearer ${token}` } });
      expect(bearer.status).toBe(429);
      expect(Number(bearer.headers.get('retry-after'))).toBeGreaterThan(0);
      // Health says up or down per dependency, and nothing about hosts or roles.
      const health = (await (await fetch(`${saga.url}/health`)).json()) as { checks: Record<string, Record<string, unknown>> };
      for (const check of Object.values(health.checks)) expect(Object.keys(check).filter((key) => !['status', 'state', 'restarts'].includes(key))).toEqual([]);
      expect(saga.output()).not.toContain(token);
    } finally {
      await saga.stop();
    }
  });
});

describe('production mode', () => {
  it('refuses to start without a real ADMIN_TOKEN or SECRETS_KEY, and never prints the token', async () => {
    const production = { ...baseEnv(), NODE_ENV: 'production', STORAGE_ROOT: `/tmp/sitesaga-access-${run}` };
    await expect(startService('site-saga', { ...production, ADMIN_TOKEN: '' })).rejects.toThrow(/ADMIN_TOKEN: must be a secret of at least 16 characters|refusing to start: ADMIN_TOKEN must be set/);
    const placeholder = 'change-me-change-me-change-me';
    const refused = startService('site-saga', { ...production, ADMIN_TOKEN: placeholder });
    await expect(refused).rejects.toThrow(/ADMIN_TOKEN is a placeholder/);
    await expect(refused).rejects.not.toThrow(new RegExp(placeholder));
    for (const app of ['databases', 'bootstrap']) {
      await expect(startService(app, { ...production, SECRETS_KEY: '' })).rejects.toThrow(/SECRETS_KEY is required when NODE_ENV=production/);
      await expect(startService(app, { ...production, SECRETS_KEY: '00'.repeat(32) })).rejects.toThrow(/SECRETS_KEY is a placeholder/);
    }
  });
});
