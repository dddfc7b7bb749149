import {
  ActivateSite,
  BootstrapSite,
  DeprovisionStorage,
  DropDatabase,
  ProvisionDatabase,
  ProvisionStorage,
  ReleaseSite,
  ReserveSite,
} from '@sitesaga/contracts';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { SEALED_CREDENTIALS } from './testing/test-site-saga';
import { waitFor } from '../../../../test/support/wait-for';
import { type AdminTestApp, startAdminTestApp } from './testing/admin-test-app';

jest.setTimeout(60_000);

const ALICE_TOKEN = 'alice-operator-token-0123456789';
const TOKEN = `admin-${randomUUID()}`;
const SECRET_PASSWORD = `pw-${randomUUID()}`;
const SECRET_CREDENTIALS = `cred-${randomUUID()}`;

let harness: AdminTestApp;
/** Every response body and header this file saw: the token must be in none of them. */
const seen: string[] = [];

interface Answer<T = unknown> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

async function call<T = any>(method: string, path: string, options: { token?: string | null; cookie?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? TOKEN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (options.cookie) headers.cookie = options.cookie;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${harness.url}${path}`, {
    method,
    headers,
    redirect: 'manual',
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  seen.push(text, JSON.stringify([...response.headers]));
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // HTML or empty
  }
  return { status: response.status, body: body as T, text, headers: response.headers };
}

const get = <T = any>(path: string, options?: Parameters<typeof call>[2]) => call<T>('GET', path, options);
const post = <T = any>(path: string, options?: Parameters<typeof call>[2]) => call<T>('POST', path, options);

const outboxCount = async (sagaId: string, type: string): Promise<number> => {
  const [row] = (await harness.dataSource.query(`SELECT count(*)::int AS count FROM outbox_messages WHERE message_key = $1 AND type = $2`, [sagaId, type])) as {
    count: number;
  }[];
  return row?.count ?? 0;
};

/** Scripts of the test saga, driven through the engine. */
const sagas = {
  running: (name: string) => harness.fixtures.start(name),
  async atParallelStage(name: string) {
    const id = await harness.fixtures.start(name);
    await harness.fixtures.succeed(id, ReserveSite, { name, domain: `${name}.example.com` });
    return id;
  },
  async completed(name: string) {
    const id = await sagas.atParallelStage(name);
    await harness.fixtures.succeed(id, ProvisionStorage, { path: `/srv/sites/${name}` });
    await harness.fixtures.succeed(id, ProvisionDatabase, { databaseName: `site_${name}`, roleName: `site_${name}`, credentials: SEALED_CREDENTIALS });
    await harness.fixtures.succeed(id, BootstrapSite, { adminUser: 'admin' });
    await harness.fixtures.succeed(id, ActivateSite, { url: `https://${name}.example.com` });
    return id;
  },
  async compensated(name: string) {
    const id = await sagas.atParallelStage(name);
    await harness.fixtures.succeed(id, ProvisionStorage, { path: `/srv/sites/${name}` });
    await harness.fixtures.fail(id, ProvisionDatabase, 'business', 'quota exceeded');
    await harness.fixtures.succeed(id, DeprovisionStorage);
    await harness.fixtures.succeed(id, ReleaseSite);
    return id;
  },
  /** Aborted, then its ReleaseSite compensation fails until attempts run out: FAILED, needs attention. */
  async failed(name: string) {
    const id = await harness.fixtures.start(name);
    await harness.fixtures.abort(id, 'test');
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      await harness.fixtures.fail(id, ReleaseSite, 'transient', 'sites database unreachable');
      if (attempt < 3) await harness.fixtures.deadline(id, 'ReserveSite'); // the back-off of ReserveSite's undo
    }
    return id;
  },
};

beforeAll(async () => {
  harness = await startAdminTestApp({ adminToken: TOKEN, namedTokens: [{ name: 'alice', secret: ALICE_TOKEN }], stream: { pollMs: 100, heartbeatMs: 1_000 } });
});

afterAll(async () => {
  await harness?.close();
});

describe('admin authentication', () => {
  const routes: [string, string][] = [
    ['GET', '/admin/sagas'],
    ['GET', `/admin/sagas/${randomUUID()}`],
    ['POST', `/admin/sagas/${randomUUID()}/retry`],
    ['POST', `/admin/sagas/${randomUUID()}/abort`],
    ['GET', '/admin/stats'],
    ['GET', '/admin/stream'],
  ];

  it.each(routes)('refuses %s %s without a token or with a wrong one', async (method, path) => {
    for (const token of [null, `${TOKEN}x`, TOKEN.slice(0, -1), 'Bearer', '']) {
      const answer = await call(method, path, { token });
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual({ message: expect.stringContaining('admin token'), errors: [] });
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    expect((await call(method, path, { token: null, headers: { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` } })).status).toBe(401);
  });

  it('answers GET /admin without credentials with a login form, and with the page given the token', async () => {
    const login = await get('/admin', { token: null });
    expect(login.status).toBe(401);
    expect(login.headers.get('content-type')).toMatch(/^text\/html/);
    expect(login.text).toContain('<form method="post" action="/admin/session">');
    expect(login.headers.get('content-security-policy')).toContain("default-src 'none'");

    const page = await get('/admin');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<title>');
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'sha256-/);
  });

  it('signs a browser in with a cookie that holds no token and lets it read, and write only with the admin header', async () => {
    const wrong = await call('POST', '/admin/session', { token: null, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: undefined });
    expect(wrong.status).toBe(401);

    const form = await fetch(`${harness.url}/admin/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: TOKEN }).toString(),
      redirect: 'manual',
    });
    expect(form.status).toBe(303);
    expect(form.headers.get('location')).toBe('/admin');
    const setCookie = form.headers.get('set-cookie') ?? '';
    seen.push(setCookie);
    expect(setCookie).toMatch(/^saga_admin_session=[^;]+; Path=\/admin; Max-Age=\d+; HttpOnly; SameSite=Strict$/);
    const cookie = setCookie.split(';')[0] ?? '';

    expect((await get('/admin', { token: null, cookie })).status).toBe(200);
    expect((await get('/admin/sagas', { token: null, cookie })).status).toBe(200);
    const id = await sagas.running(`cookie-${randomUUID().slice(0, 8)}`);
    expect((await post(`/admin/sagas/${id}/abort`, { token: null, cookie })).status).toBe(403);
    expect((await post(`/admin/sagas/${id}/abort`, { token: null, cookie, headers: { 'x-admin-request': '1' } })).status).toBe(202);

    const tampered = cookie.replace(/.$/, (last) => (last === 'A' ? 'B' : 'A'));
    expect((await get('/admin/sagas', { token: null, cookie: tampered })).status).toBe(401);
    const wrongForm = await fetch(`${harness.url}/admin/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: 'guess' }).toString(),
      redirect: 'manual',
    });
    expect(wrongForm.status).toBe(401);
    expect(wrongForm.headers.get('set-cookie')).toBeNull();
  });
});

describe('admin authentication in a host that parses no bodies', () => {
  it('still signs a browser in through the form', async () => {
    const bare = await startAdminTestApp({ adminToken: TOKEN, bodyParser: false });
    try {
      const signIn = (token: string) =>
        fetch(`${bare.url}/admin/session`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }).toString(), redirect: 'manual' });
      expect((await signIn(TOKEN)).status).toBe(303);
      expect((await signIn('guess')).status).toBe(401);
    } finally {
      await bare.close();
    }
  });
});

describe('GET /admin/sagas', () => {
  it('pages newest first with an opaque cursor: 3 + 3 + 1, no duplicates, no gaps', async () => {
    const name = `paged-${randomUUID().slice(0, 8)}`;
    const created: string[] = [];
    for (let index = 0; index < 7; index += 1) created.push(await sagas.running(name));

    const pages: { items: { id: string; createdAt: string }[]; nextCursor: string | null }[] = [];
    let cursor: string | null = null;
    do {
      const answer: Answer<{ items: { id: string; createdAt: string }[]; nextCursor: string | null }> = await get(
        `/admin/sagas?siteName=${name}&limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(answer.status).toBe(200);
      pages.push(answer.body);
      cursor = answer.body.nextCursor;
    } while (cursor && pages.length < 10);

    expect(pages.map((page) => page.items.length)).toEqual([3, 3, 1]);
    expect(pages[2]?.nextCursor).toBeNull();
    const listed = pages.flatMap((page) => page.items);
    expect(new Set(listed.map((item) => item.id))).toEqual(new Set(created));
    const newestFirst = [...listed].sort((left, right) => right.createdAt.localeCompare(left.createdAt) || right.id.localeCompare(left.id));
    expect(listed.map((item) => item.id)).toEqual(newestFirst.map((item) => item.id));
    expect(pages[0]?.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('filters by status, type and site name and returns summaries', async () => {
    const name = `filtered-${randomUUID().slice(0, 8)}`;
    const completed = await sagas.completed(name);
    const running = await sagas.atParallelStage(name);

    const all = await get(`/admin/sagas?siteName=${name}`);
    expect(all.body.items.map((item: { id: string }) => item.id)).toEqual([running, completed]);
    expect(all.body.items[0]).toEqual({
      id: running,
      type: 'TestCreateSite',
      status: 'RUNNING',
      version: 2,
      siteName: name,
      siteId: running,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      currentStep: 'ProvisionDatabase, ProvisionStorage', // a parallel group's steps by name
      definitionVersion: 1,
      versionDeployed: true,
      waitingFor: null,
    });
    expect((await get(`/admin/sagas?siteName=${name}&status=COMPLETED`)).body.items.map((item: { id: string }) => item.id)).toEqual([completed]);
    expect((await get(`/admin/sagas?siteName=${name}&type=TestCreateSite&status=RUNNING`)).body.items.map((item: { id: string }) => item.id)).toEqual([running]);
    expect((await get(`/admin/sagas?siteName=${name}&type=DeleteSite`)).body).toEqual({ items: [], nextCursor: null });
    expect((await get(`/admin/sagas?siteName=${name}&status=&type=`)).body.items).toHaveLength(2); // empty form fields mean "any"
  });

  it('refuses invalid filters with field errors', async () => {
    const answer = await get(`/admin/sagas?status=DONE&limit=0&cursor=not-a-cursor&type=${encodeURIComponent('x y')}&color=red`);
    expect(answer.status).toBe(400);
    expect(answer.body.message).toBe('invalid query');
    expect(answer.body.errors.map((error: { field: string }) => error.field).sort()).toEqual(['color', 'cursor', 'limit', 'status', 'type']);
    expect((await get('/admin/sagas?limit=201')).body.errors).toEqual([{ field: 'limit', message: 'must be an integer from 1 to 200' }]);
    expect((await get('/admin/sagas?status=RUNNING&status=FAILED')).status).toBe(400);
    const forged = Buffer.from(`2024-01-01T00:00:00.000000|'; DROP TABLE saga_instances; --`).toString('base64url');
    expect((await get(`/admin/sagas?cursor=${forged}`)).body.errors).toEqual([{ field: 'cursor', message: expect.any(String) }]);
  });
});

describe('GET /admin/sagas/:id', () => {
  it('shows the saga with its steps and history, secrets redacted', async () => {
    const name = `secret-${randomUUID().slice(0, 8)}`;
    const id = await harness.fixtures.start(name, { credentials: SECRET_CREDENTIALS, password: SECRET_PASSWORD } as never);
    await harness.fixtures.succeed(id, ReserveSite, { name, domain: `${name}.example.com` });
    await harness.fixtures.succeed(id, ProvisionStorage, { path: `/srv/sites/${name}` });

    const answer = await get(`/admin/sagas/${id}`);

    expect(answer.status).toBe(200);
    expect(answer.text).not.toContain(SECRET_CREDENTIALS);
    expect(answer.text).not.toContain(SECRET_PASSWORD);
    expect(answer.body).toMatchObject({
      id,
      type: 'TestCreateSite',
      status: 'RUNNING',
      version: 3,
      input: { siteId: id, name, credentials: '[redacted]', password: '[redacted]' },
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      stageCount: 4,
      actions: { retry: true, abort: true },
    });
    expect(answer.body.steps.map((step: { name: string; state: string; position: number }) => [step.name, step.state, step.position])).toEqual([
      ['ReserveSite', 'SUCCEEDED', 0],
      ['ProvisionStorage', 'SUCCEEDED', 1],
      ['ProvisionDatabase', 'RUNNING', 1],
      ['BootstrapSite', 'PENDING', 2],
      ['ActivateSite', 'PENDING', 3],
    ]);
    expect(answer.body.steps[0]).toEqual({
      name: 'ReserveSite',
      state: 'SUCCEEDED',
      attempts: 1,
      startedAt: expect.any(String),
      finishedAt: expect.any(String),
      error: null,
      position: 0,
      compensationAttempts: 0,
      mayHaveTakenEffect: false,
      deadlineAt: null,
      deadlineKind: null,
      durationMs: expect.any(Number),
      waits: null, // driven through the engine here, not over Kafka: no hop timings
    });
    expect(answer.body.history.map((entry: { direction: string; type: string }) => `${entry.direction} ${entry.type}`)).toEqual([
      'in CreateSite',
      'out SiteCreationStarted',
      'out ReserveSite',
      'in SiteReserved',
      'out ProvisionStorage',
      'out ProvisionDatabase',
      'in StorageProvisioned',
    ]);
    expect(answer.body.history[2]).toEqual({ direction: 'out', topic: 'sites.commands', messageId: expect.any(String), type: 'ReserveSite', at: expect.any(String), step: 'ReserveSite', hops: null });
  });

  it('answers 404 for an unknown saga and 400 for an id that is not a uuid', async () => {
    expect((await get(`/admin/sagas/${randomUUID()}`)).status).toBe(404);
    const invalid = await get('/admin/sagas/not-a-uuid');
    expect(invalid.status).toBe(400);
    expect(invalid.body).toEqual({ message: 'invalid saga id', errors: [{ field: 'id', message: 'must be a uuid' }] });
  });
});

describe('operator actions', () => {
  it('retries a FAILED saga: 202, COMPENSATING, and the stuck compensation is sent again through the outbox', async () => {
    const id = await sagas.failed(`failed-${randomUUID().slice(0, 8)}`);
    expect((await get(`/admin/sagas/${id}`)).body).toMatchObject({ status: 'FAILED', actions: { retry: true, abort: false } });
    const before = await outboxCount(id, 'ReleaseSite');

    const answer = await post(`/admin/sagas/${id}/retry`);

    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ id, status: 'COMPENSATING', currentStep: 'ReserveSite' });
    expect(await outboxCount(id, 'ReleaseSite')).toBe(before + 1);
    const detail = (await get(`/admin/sagas/${id}`)).body;
    expect(detail.history.at(-2)).toMatchObject({ direction: 'in', type: 'RetryRequested' });
    expect(detail.history.at(-1)).toMatchObject({ direction: 'out', type: 'ReleaseSite' });
  });

  it('aborts a RUNNING saga into compensation, with the reason given', async () => {
    const id = await sagas.atParallelStage(`abort-${randomUUID().slice(0, 8)}`);

    const answer = await post(`/admin/sagas/${id}/abort`, { body: { reason: 'customer cancelled' } });

    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ id, status: 'COMPENSATING', currentStep: 'ProvisionDatabase, ProvisionStorage' });
    expect(await outboxCount(id, 'DeprovisionStorage')).toBe(1);
    expect(await outboxCount(id, 'DropDatabase')).toBe(1);
    expect((await get(`/admin/sagas/${id}`)).body.failure).toMatchObject({ cause: 'aborted', reason: 'aborted: customer cancelled' });
  });

  it('refuses to abort or retry a COMPLETED saga with 409, and to abort with a bad body with 400', async () => {
    const id = await sagas.completed(`done-${randomUUID().slice(0, 8)}`);

    const abort = await post(`/admin/sagas/${id}/abort`);
    expect(abort.status).toBe(409);
    expect(abort.body.message).toMatch(/cannot abort saga .* it is COMPLETED/);
    expect((await post(`/admin/sagas/${id}/retry`)).status).toBe(409);
    expect((await post(`/admin/sagas/${id}/abort`, { body: { reason: 42 } })).status).toBe(400);
    expect((await get(`/admin/sagas/${id}`)).body).toMatchObject({ status: 'COMPLETED', actions: { retry: false, abort: false } });
  });

  it('shows a saga whose definition version is not deployed as such, offers no action, and refuses one with 409', async () => {
    const id = await sagas.atParallelStage(`old-${randomUUID().slice(0, 8)}`);
    // As if it had started on a version a later deploy dropped (docs/adr/0007).
    await harness.dataSource.query(`UPDATE saga_instances SET definition_version = 7 WHERE id = $1`, [id]);

    expect((await get(`/admin/sagas/${id}`)).body).toMatchObject({ definitionVersion: 7, versionDeployed: false, waitingFor: null, actions: { retry: false, abort: false } });
    const listed = (await get(`/admin/sagas?type=TestCreateSite&limit=200`)).body.items.find((item: { id: string }) => item.id === id);
    expect(listed).toMatchObject({ definitionVersion: 7, versionDeployed: false });
    const refused = await post(`/admin/sagas/${id}/abort`, { body: { reason: 'stuck' } });
    expect(refused.status).toBe(409);
    expect(refused.body.message).toContain('TestCreateSite version 7 is not deployed (deployed: 1)');
  });

  it('answers 404 and 400 for actions on unknown or invalid ids', async () => {
    expect((await post(`/admin/sagas/${randomUUID()}/retry`)).status).toBe(404);
    expect((await post(`/admin/sagas/${randomUUID()}/abort`)).status).toBe(404);
    expect((await post('/admin/sagas/123/retry')).status).toBe(400);
  });
});

describe('GET /admin/stats', () => {
  // The first authenticated stats call of this file: nothing cached yet (stats are reused for 1 s).
  it('counts sagas by status and type and gives step latencies', async () => {
    await sagas.completed(`stats-${randomUUID().slice(0, 8)}`);
    await sagas.compensated(`stats-${randomUUID().slice(0, 8)}`);
    const counts = (await harness.dataSource.query(`SELECT status, count(*)::int AS count FROM saga_instances GROUP BY status`)) as { status: string; count: number }[];

    const answer = await get('/admin/stats');

    expect(answer.status).toBe(200);
    const expected = Object.fromEntries(counts.map((row) => [row.status, row.count]));
    expect(answer.body.byStatus).toEqual({ RUNNING: 0, COMPENSATING: 0, COMPLETED: 0, COMPENSATED: 0, FAILED: 0, ...expected });
    expect(answer.body.byType).toEqual({ TestCreateSite: expected });
    const reserve = answer.body.steps.find((step: { name: string }) => step.name === 'ReserveSite');
    expect(reserve).toEqual({ name: 'ReserveSite', count: expect.any(Number), p50Ms: expect.any(Number), p95Ms: expect.any(Number), p99Ms: expect.any(Number) });
    expect(reserve.count).toBeGreaterThan(0);
    expect(answer.body.sagaDurations).toEqual({ count: expected.COMPLETED, p50Ms: expect.any(Number), p95Ms: expect.any(Number), p99Ms: expect.any(Number) });
  });
});

describe('GET /admin/parked', () => {
  it('lists the dead letters the DLQ refused and the outbox rows the broker refused, never the messages themselves', async () => {
    const sagaId = randomUUID();
    const messageId = randomUUID();
    await harness.dataSource.query(
      `INSERT INTO outbox_messages (message_id, topic, message_key, type, value, headers, parked_at, parked_reason)
       VALUES ($1, 'site-saga.events', $2, 'SiteCreationRejected', $3, '{}'::jsonb, now(), 'MESSAGE_TOO_LARGE')`,
      [messageId, sagaId, JSON.stringify({ secret: 'x'.repeat(2_000) })],
    );
    const [letter] = (await harness.dataSource.query(
      `INSERT INTO dead_letters (consumer_group, topic, "partition", "offset", value, error, outcome, parked_reason)
       VALUES ('site-saga', 'site-saga.commands', 2, 41, convert_to('{"not":"json', 'UTF8'), 'unreadable: not JSON', 'unreadable', 'DLQ refused it') RETURNING id::text AS id`,
    )) as { id: string }[];

    expect((await get('/admin/parked', { token: null })).status).toBe(401);
    const answer = await get('/admin/parked');

    expect(answer.status).toBe(200);
    expect(answer.body.outbox).toContainEqual(
      expect.objectContaining({ messageId, sagaId, type: 'SiteCreationRejected', topic: 'site-saga.events', parkedReason: 'MESSAGE_TOO_LARGE', bytes: expect.any(Number) }),
    );
    expect(answer.body.deadLetters).toContainEqual(
      expect.objectContaining({ id: letter!.id, topic: 'site-saga.commands', partition: 2, offset: '41', error: 'unreadable: not JSON', parkedReason: 'DLQ refused it' }),
    );
    expect(answer.text).not.toContain('xxxxxxxx');
    expect(answer.text).not.toContain('{"not":"json');
  });
});

/** Reads an event stream with fetch, collecting its events. */
async function openStream(
  headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` },
): Promise<{ events: { event: string; data: string }[]; raw: () => string; close: () => void; ended: () => boolean }> {
  const controller = new AbortController();
  const response = await fetch(`${harness.url}/admin/stream`, { headers, signal: controller.signal });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: { event: string; data: string }[] = [];
  let buffer = '';
  let raw = '';
  let ended = false;
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          ended = true;
          return;
        }
        const text = decoder.decode(value, { stream: true });
        raw += text;
        buffer += text;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = Object.fromEntries(block.split('\n').filter((line) => line && !line.startsWith(':')).map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]));
          if (fields.event) events.push({ event: fields.event, data: fields.data ?? '' });
        }
      }
    } catch {
      // aborted
    }
  })();
  return { events, raw: () => raw, close: () => controller.abort(), ended: () => ended };
}

describe('GET /admin/stream', () => {
  it('pushes a changed saga at once, sees changes made elsewhere by polling, and frees everything on disconnect', async () => {
    const id = await sagas.running(`live-${randomUUID().slice(0, 8)}`);
    const stream = await openStream();
    await waitFor(() => harness.stream.connectedClients === 1 && harness.stream.polling, { within: '2s', what: 'stream client registered' });

    // Published by "the orchestrator" after its commit.
    await harness.fixtures.succeed(id, ReserveSite, { name: 'x', domain: 'x.example.com' });
    const pushed = await waitFor(
      () => stream.events.map((event) => JSON.parse(event.data) as { id: string; version: number; currentStep: string }).find((summary) => summary.id === id && summary.version === 2),
      { within: '3s', what: 'saga event after ReserveSite succeeded' },
    );
    expect(pushed.currentStep).toBe('ProvisionDatabase, ProvisionStorage');

    // Changed by "another replica": nothing published here, the poll finds it.
    await harness.unitOfWork.run(null, (tx) => harness.engine.abort(tx, id, 'from another replica'));
    await waitFor(
      () => stream.events.some((event) => event.event === 'saga' && JSON.parse(event.data).id === id && JSON.parse(event.data).status === 'COMPENSATING'),
      { within: '3s', what: 'saga event of a change made without publish' },
    );
    const forSaga = stream.events.filter((event) => (JSON.parse(event.data) as { id: string }).id === id).map((event) => (JSON.parse(event.data) as { version: number }).version);
    expect(forSaga).toEqual([...new Set(forSaga)]); // one event per version: push and poll coalesce
    await waitFor(() => stream.raw().includes(': heartbeat'), { within: '3s', what: 'a heartbeat comment' });

    stream.close();
    await waitFor(() => harness.stream.connectedClients === 0 && !harness.stream.polling, { within: '3s', what: 'stream client freed' });
  });
});

describe('named operator tokens', () => {
  it('records who aborted a saga in its history', async () => {
    const id = await sagas.running(`named-${randomUUID().slice(0, 8)}`);
    const response = await fetch(`${harness.url}/admin/sagas/${id}/abort`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ALICE_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'customer asked' }),
    });
    expect(response.status).toBe(202);
    const detail = (await get(`/admin/sagas/${id}`)).body as { history: { type: string; messageId: string | null }[]; failure?: { reason?: string } | null };
    expect(detail.history.find((entry) => entry.type === 'AbortRequested')?.messageId).toMatch(/^operator:alice:/);
    expect(JSON.stringify(detail)).toContain('aborted: customer asked');
  });
});

describe('sessions', () => {
  const signIn = async (): Promise<string> => {
    const form = await fetch(`${harness.url}/admin/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: TOKEN }).toString(),
      redirect: 'manual',
    });
    expect(form.status).toBe(303);
    return (form.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  };

  it('signs a session out on the server: its cookie is refused from then on and its open stream ends; other sessions live on', async () => {
    const [cookie, other] = [await signIn(), await signIn()];
    expect(cookie).not.toBe(other);
    const stream = await openStream({ cookie });
    const otherStream = await openStream({ cookie: other });
    await waitFor(() => harness.stream.connectedClients === 2, { within: '2s', what: 'two streams registered' });

    const out = await fetch(`${harness.url}/admin/session`, { method: 'DELETE', headers: { cookie, 'x-admin-request': '1' } });
    expect(out.status).toBe(204);
    // The old cookie, kept by whoever copied it, opens nothing any more.
    expect((await get('/admin/sagas', { token: null, cookie })).status).toBe(401);
    expect((await get('/admin', { token: null, cookie })).status).toBe(401);
    await waitFor(() => stream.ended(), { within: '3s', what: 'the signed-out session\'s stream ended' });
    expect(otherStream.ended()).toBe(false);
    expect((await get('/admin/sagas', { token: null, cookie: other })).status).toBe(200);
    otherStream.close();
    await waitFor(() => harness.stream.connectedClients === 0, { within: '3s', what: 'streams freed' });
  });

  it('ends a stream whose session was signed out on another replica (seen in the shared table)', async () => {
    const cookie = await signIn();
    const stream = await openStream({ cookie });
    const [expires, id] = decodeURIComponent(cookie.split('=')[1] ?? '').split('.') as [string, string];
    await harness.dataSource.query(`INSERT INTO admin_revoked_sessions (session_id, expires_at) VALUES ($1, to_timestamp($2))`, [id, Number(expires)]);
    await waitFor(() => stream.ended(), { within: '5s', what: 'the stream of a session revoked elsewhere ended' });
  });

  it('caps the open streams of a replica: one more is answered 503 with Retry-After', async () => {
    const capped = await startAdminTestApp({ adminToken: TOKEN, stream: { maxClients: 1 } });
    const controller = new AbortController();
    try {
      const headers = { authorization: `Bearer ${TOKEN}` };
      const first = await fetch(`${capped.url}/admin/stream`, { headers, signal: controller.signal });
      expect(first.status).toBe(200);
      const second = await fetch(`${capped.url}/admin/stream`, { headers });
      expect(second.status).toBe(503);
      expect(second.headers.get('retry-after')).toBe('10');
    } finally {
      controller.abort();
      await capped.close();
    }
  });

  it('marks the cookie Secure when the page is reached over TLS', async () => {
    const form = await fetch(`${harness.url}/admin/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https' },
      body: new URLSearchParams({ token: TOKEN }).toString(),
      redirect: 'manual',
    });
    expect(form.headers.get('set-cookie')).toMatch(/; HttpOnly; SameSite=Strict; Secure$/);
  });
});

describe('metrics', () => {
  it('counts admin requests by route and status on the host registry', async () => {
    const text = await harness.app.get(Registry).metrics();
    expect(text).toMatch(/admin_requests_total\{route="GET \/admin\/sagas",status="200",?\} \d+/);
    expect(text).toMatch(/admin_requests_total\{route="GET \/admin\/sagas",status="401",?\} \d+/);
    expect(text).toMatch(/admin_stream_clients 0/);
  });
});

describe('secrecy', () => {
  it('never writes the token to a response or a log', () => {
    expect(seen.length).toBeGreaterThan(10);
    for (const text of seen) expect(text).not.toContain(TOKEN);
    expect(harness.logs.some((line) => line.includes('operator'))).toBe(true);
    for (const line of harness.logs) {
      expect(line).not.toContain(TOKEN);
      expect(line).not.toContain(SECRET_PASSWORD);
      expect(line).not.toContain(SECRET_CREDENTIALS);
    }
  });
});
