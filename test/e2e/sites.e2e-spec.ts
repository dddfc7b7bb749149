import { randomUUID } from 'node:crypto';
import {
  ActivateSite,
  type Envelope,
  MarkSiteDeleted,
  MarkSiteDeleting,
  ReleaseSite,
  ReserveSite,
  Topics,
} from '@sitesaga/contracts';
import { databaseUrlFor } from '@sitesaga/messaging';
import type { Kafka, Producer } from 'kafkajs';
import { Client } from 'pg';
import { headerOf, recordTopics, testKafka } from '../support/kafka-probe';
import { operatorHeaders, type ServiceProcess, startService } from '../support/service-process';
import { createTopicNamespace, type TopicNamespace } from '../support/topic-namespace';
import { waitFor } from '../support/wait-for';

/**
 * The sites service as a process, driven only through Kafka and HTTP, against a real
 * broker and a real Postgres. Build first: pnpm --filter @sitesaga/sites... build
 */
jest.setTimeout(60_000);

const prefix = `e2e_sites_${randomUUID().slice(0, 8)}_`;
const run = randomUUID().slice(0, 6); // names of this run: the broker and its topics are shared

let kafka: Kafka;
let producer: Producer;
let probe: Awaited<ReturnType<typeof recordTopics>>;
/** Private copies of every topic: this file's service sees only this file's messages. */
let namespace: TopicNamespace;
let service: ServiceProcess;
let database: Client;

beforeAll(async () => {
  kafka = testKafka('sites-e2e');
  namespace = await createTopicNamespace(kafka, 'sites');
  [service, probe] = await Promise.all([
    startService('sites', {
      DATABASE_NAME_PREFIX: prefix,
      KAFKA_TOPIC_PREFIX: namespace.prefix,
      HANDLER_ATTEMPTS: '3',
      HANDLER_BACKOFF_MS: '20',
      OUTBOX_POLL_MS: '200',
    }),
    recordTopics(kafka, [namespace.topic(Topics.sitesEvents), namespace.topic(Topics.siteSagaCommands)]),
  ]);
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  database = new Client({ connectionString: databaseUrlFor('sites', { ...process.env, DATABASE_NAME_PREFIX: prefix }) });
  await database.connect();
});

afterAll(async () => {
  await service?.stop();
  await Promise.allSettled([probe?.stop(), producer?.disconnect(), database?.end()]);
  await namespace?.drop();
  const admin = new Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${prefix}sites" WITH (FORCE)`);
  await admin.end();
});

const causation = (sagaId: string = randomUUID()) => ({ sagaId, correlationId: randomUUID(), causationId: null });

const send = async (...commands: Envelope[]): Promise<void> => {
  await producer.send({ topic: namespace.topic(Topics.sitesCommands), messages: commands.map((command) => ({ key: command.sagaId, value: JSON.stringify(command) })) });
};

const repliesTo = (command: Envelope): Envelope[] =>
  probe.messages
    .filter((message) => message.topic === namespace.topic(Topics.sitesEvents) && headerOf(message, 'causation-id') === command.id)
    .map((message) => JSON.parse(message.value!.toString()) as Envelope);

const replyTo = (command: Envelope, what = `the reply to ${command.type}`): Promise<Envelope> =>
  waitFor(() => repliesTo(command)[0], { within: '20s', what });

const rowOf = async (siteId: string): Promise<{ name: string; domain: string; status: string } | undefined> =>
  (await database.query(`SELECT name, domain, status FROM sites WHERE id = $1`, [siteId])).rows[0];

const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(`${service.url}${path}`, {
    method,
    headers: { ...operatorHeaders(), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, any>) : null };
};

const names = (base: string) => ({ name: `${base}-${run}`, domain: `${base}-${run}.example.com` });

/** Reserves and activates a site through Kafka, as the saga would. */
const activeSite = async (base: string): Promise<{ siteId: string; name: string; domain: string }> => {
  const siteId = randomUUID();
  const site = names(base);
  const reserve = ReserveSite.create({ siteId, ...site, adminEmail: 'owner@example.com' }, causation(siteId));
  await send(reserve);
  expect((await replyTo(reserve)).type).toBe('SiteReserved');
  const activate = ActivateSite.create({ siteId }, causation(siteId));
  await send(activate);
  expect((await replyTo(activate)).type).toBe('SiteActivated');
  return { siteId, ...site };
};

describe('sites over Kafka', () => {
  it('reserves a site PENDING under the name sent, then activates it with its https address', async () => {
    const siteId = randomUUID();
    const reserve = ReserveSite.create(
      { siteId, name: `my-shop-${run}`, domain: `shop-${run}.example.com`, tagline: 'Hello', adminEmail: 'owner@example.com' },
      causation(siteId),
    );
    await send(reserve);
    const reserved = await replyTo(reserve);
    expect(reserved).toMatchObject({
      type: 'SiteReserved',
      sagaId: siteId,
      correlationId: reserve.correlationId,
      payload: { siteId, name: `my-shop-${run}`, domain: `shop-${run}.example.com` },
    });
    expect(await rowOf(siteId)).toEqual({ name: `my-shop-${run}`, domain: `shop-${run}.example.com`, status: 'PENDING' });

    const activate = ActivateSite.create({ siteId }, causation(siteId));
    await send(activate);
    expect((await replyTo(activate)).payload).toEqual({ siteId, url: `https://shop-${run}.example.com` });
    expect((await api('GET', `/sites/${siteId}`)).body).toMatchObject({ id: siteId, status: 'ACTIVE', url: `https://shop-${run}.example.com`, tagline: 'Hello' });
  });

  it('answers the same reservation again with success, whether re-sent or delivered twice, with one record', async () => {
    const siteId = randomUUID();
    const reserve = ReserveSite.create({ siteId, ...names('twice') }, causation(siteId));
    await send(reserve, reserve); // the same envelope id twice: the inbox keeps one effect
    const again = ReserveSite.create({ siteId, ...names('twice') }, causation(siteId)); // a new envelope: success by state
    await send(again);
    expect((await replyTo(again)).type).toBe('SiteReserved');
    expect(repliesTo(reserve).map((reply) => reply.type)).toEqual(['SiteReserved']);
    const inbox = await database.query(`SELECT count(*)::int AS n FROM inbox_messages WHERE message_id = $1`, [reserve.id]);
    expect(inbox.rows[0].n).toBe(1);
    expect((await database.query(`SELECT count(*)::int AS n FROM sites WHERE name = $1`, [names('twice').name])).rows[0].n).toBe(1);
  });

  it('lets exactly one of concurrent reservations of one name win; the others are refused as business failures', async () => {
    const contenders = Array.from({ length: 6 }, (_, index) => {
      const siteId = randomUUID();
      return ReserveSite.create({ siteId, name: `race-${run}`, domain: `race-${index}-${run}.example.com` }, causation(siteId));
    });
    await send(...contenders);
    const replies = await Promise.all(contenders.map((command) => replyTo(command)));
    expect(replies.filter((reply) => reply.type === 'SiteReserved')).toHaveLength(1);
    const refused = replies.filter((reply) => reply.type === 'SiteReservationRejected');
    expect(refused).toHaveLength(5);
    for (const reply of refused) expect(reply.payload).toMatchObject({ reason: 'name taken', class: 'business' });
    expect((await database.query(`SELECT count(*)::int AS n FROM sites WHERE name = $1`, [`race-${run}`])).rows[0].n).toBe(1);
  });

  it('releases a reservation (FAILED, name free again), and releasing an unknown site succeeds', async () => {
    const siteId = randomUUID();
    const reserve = ReserveSite.create({ siteId, ...names('undo') }, causation(siteId));
    await send(reserve);
    await replyTo(reserve);
    const release = ReleaseSite.create({ siteId }, causation(siteId));
    const releaseUnknown = ReleaseSite.create({ siteId: randomUUID() }, causation());
    await send(release, releaseUnknown);
    expect((await replyTo(release)).type).toBe('SiteReleased');
    expect((await replyTo(releaseUnknown)).type).toBe('SiteReleased');
    expect((await rowOf(siteId))?.status).toBe('FAILED');

    const newcomerId = randomUUID();
    const newcomer = ReserveSite.create({ siteId: newcomerId, ...names('undo') }, causation(newcomerId));
    await send(newcomer);
    expect((await replyTo(newcomer)).type).toBe('SiteReserved');

    // The released site can still be deleted although its name is held again.
    const deleting = MarkSiteDeleting.create({ siteId }, causation());
    await send(deleting);
    expect((await replyTo(deleting)).type).toBe('SiteMarkedDeleting');
  });

  it('marks a site deleting then deleted, and refuses both for a site in the wrong state', async () => {
    const { siteId } = await activeSite('gone');
    const deleteSagaId = randomUUID();
    const markDeleted = MarkSiteDeleted.create({ siteId }, causation(deleteSagaId));
    await send(markDeleted);
    expect((await replyTo(markDeleted)).payload).toEqual({ siteId, reason: 'site is not being deleted (status ACTIVE)', class: 'business' });

    const deleting = MarkSiteDeleting.create({ siteId }, causation(deleteSagaId));
    await send(deleting);
    expect((await replyTo(deleting)).type).toBe('SiteMarkedDeleting');
    expect((await rowOf(siteId))?.status).toBe('DELETING');
    const deleted = MarkSiteDeleted.create({ siteId }, causation(deleteSagaId));
    await send(deleted);
    expect((await replyTo(deleted)).type).toBe('SiteMarkedDeleted');
    expect((await rowOf(siteId))?.status).toBe('DELETED');

    const unknown = MarkSiteDeleting.create({ siteId: randomUUID() }, causation());
    await send(unknown);
    expect((await replyTo(unknown)).payload).toMatchObject({ reason: 'unknown site', class: 'business' });
  });

  it('reports an injected transient fault as a transient failure after its local retries', async () => {
    const siteId = randomUUID();
    const faults = await api('PUT', '/faults', { rules: [{ command: 'ActivateSite', mode: 'transient', rate: 1, match: siteId }] });
    expect(faults.status).toBe(200);
    try {
      const activate = ActivateSite.create({ siteId }, causation(siteId));
      await send(activate);
      expect((await replyTo(activate)).payload).toMatchObject({ siteId, class: 'transient', reason: expect.stringContaining('injected fault') });
    } finally {
      await api('PUT', '/faults', { rules: [] });
    }
  });
});

describe('sites HTTP API', () => {
  const createSiteCommands = () =>
    probe.messages.filter((message) => message.topic === namespace.topic(Topics.siteSagaCommands)).map((message) => JSON.parse(message.value!.toString()) as Envelope);

  it('accepts a site at once: 202 PENDING, CreateSite on site-saga.commands with the site id as saga id', async () => {
    const requestId = `req-${randomUUID()}`;
    const response = await api('POST', '/sites', { name: `blog-${run}`, domain: `blog-${run}.example.com`, adminEmail: 'me@example.com' }, { 'X-Request-Id': requestId });
    expect(response.status).toBe(202);
    const { siteId, sagaId, status } = response.body!;
    expect(status).toBe('PENDING');
    expect(sagaId).toBe(siteId);

    const command = await waitFor(() => createSiteCommands().find((envelope) => envelope.sagaId === sagaId), { within: '20s', what: 'CreateSite on site-saga.commands' });
    expect(command).toMatchObject({ type: 'CreateSite', correlationId: requestId, payload: { name: `blog-${run}`, domain: `blog-${run}.example.com`, adminEmail: 'me@example.com' } });
    expect((await api('GET', `/sites/${siteId}`)).body).toMatchObject({ id: siteId, name: `blog-${run}`, status: 'PENDING', url: null });

    // The saga's ReserveSite for this very site id succeeds; a second POST for the name is refused.
    const reserve = ReserveSite.create({ siteId, name: `blog-${run}`, domain: `blog-${run}.example.com`, adminEmail: 'me@example.com' }, causation(siteId));
    await send(reserve);
    expect((await replyTo(reserve)).type).toBe('SiteReserved');
    const again = await api('POST', '/sites', { name: `blog-${run}`, domain: `other-${run}.example.com`, adminEmail: 'me@example.com' });
    expect(again).toMatchObject({ status: 409, body: { errors: [{ field: 'name', message: 'is taken' }] } });
  });

  it('gives a repeated Idempotency-Key the same ids and sends one CreateSite; another body with it is refused', async () => {
    const key = `key-${randomUUID()}`;
    const body = { name: `idem-${run}`, domain: `idem-${run}.example.com`, adminEmail: 'me@example.com' };
    const [first, second] = await Promise.all([api('POST', '/sites', body, { 'Idempotency-Key': key }), api('POST', '/sites', body, { 'Idempotency-Key': key })]);
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body).toEqual(first.body);
    const third = await api('POST', '/sites', body, { 'Idempotency-Key': key });
    expect(third.body).toEqual(first.body);
    expect(third.headers.get('idempotent-replayed')).toBe('true');
    expect(await api('POST', '/sites', { ...body, tagline: 'changed' }, { 'Idempotency-Key': key })).toMatchObject({ status: 422 });

    // A later request's CreateSite proves the relay has sent everything before it.
    const later = await api('POST', '/sites', { name: `later-${run}`, domain: `later-${run}.example.com`, adminEmail: 'me@example.com' });
    await waitFor(() => createSiteCommands().some((envelope) => envelope.sagaId === later.body!.sagaId), { within: '20s', what: 'the later CreateSite' });
    expect(createSiteCommands().filter((envelope) => envelope.sagaId === first.body!.sagaId)).toHaveLength(1);
  });

  it('refuses a full-width or upper-case spelling with a suggestion instead of rewriting it, and a Cyrillic look-alike as invalid', async () => {
    await activeSite('myblog');
    const fullWidth = [...`myblog-${run}`].map((char) => (/[a-z0-9-]/.test(char) ? String.fromCharCode(char.charCodeAt(0) + 0xfee0) : char)).join('');
    const refused = await api('POST', '/sites', { name: fullWidth, domain: `FW-${run}.example.com.`, adminEmail: 'me@example.com' });
    expect(refused).toMatchObject({
      status: 400,
      body: {
        errors: [
          { field: 'name', message: `must be lowercase letters, digits and hyphens (did you mean "myblog-${run}"?)` },
          { field: 'domain', message: `must be a lowercase host name without spaces or a trailing dot (did you mean "fw-${run}.example.com"?)` },
        ],
      },
    });
    const cyrillic = await api('POST', '/sites', { name: 'раураl', domain: `cy-${run}.example.com`, adminEmail: 'me@example.com' });
    expect(cyrillic).toMatchObject({ status: 400, body: { errors: [{ field: 'name', message: 'must contain only ASCII letters, digits and hyphens' }] } });
  });

  it('refuses hostile input with 400 and field reasons, and writes and sends nothing for it', async () => {
    const requestsBefore = (await database.query(`SELECT count(*)::int AS n FROM site_requests`)).rows[0].n;
    const valid = { name: `fine-${run}`, domain: `fine-${run}.example.com`, adminEmail: 'me@example.com' };
    const hostile: [string, unknown, string][] = [
      ['path traversal', { ...valid, name: '../../etc' }, 'name'],
      ['SQL injection', { ...valid, name: "a'; drop database postgres;--" }, 'name'],
      ['300 characters', { ...valid, name: 'a'.repeat(300) }, 'name'],
      ['a traversal domain', { ...valid, domain: '../../etc/passwd' }, 'domain'],
      ['empty strings', { name: '', domain: '', adminEmail: '' }, 'name'],
      ['wrong types', { name: 42, domain: ['x'], adminEmail: { at: 'x' } }, 'name'],
      ['unknown fields', { ...valid, role: 'admin', __proto__x: 1 }, 'role'],
      ['not an object', [valid], '(body)'],
      ['not JSON', '{"name": ', '(body)'],
    ];
    const marker = `hostile-${randomUUID()}`;
    for (const [what, body, field] of hostile) {
      const response = await api('POST', '/sites', body, { 'X-Request-Id': `${marker}-${what.replace(/\W/g, '-')}` });
      expect({ what, status: response.status }).toEqual({ what, status: 400 });
      expect(response.body!.message).toEqual(expect.any(String));
      expect(response.body!.errors.map((error: { field: string }) => error.field)).toContain(field);
    }
    const huge = await api('POST', '/sites', JSON.stringify({ ...valid, tagline: 'x'.repeat(1_000_000) }));
    expect(huge).toMatchObject({ status: 413, body: { errors: [{ field: '(body)', message: 'must be at most 16kb' }] } });

    // Outbox order: once a later valid request's CreateSite is on Kafka, anything written before it would be too.
    const sentinel = await api('POST', '/sites', valid);
    expect(sentinel.status).toBe(202);
    await waitFor(() => createSiteCommands().some((envelope) => envelope.sagaId === sentinel.body!.sagaId), { within: '20s', what: 'the sentinel CreateSite' });
    expect(createSiteCommands().filter((envelope) => envelope.correlationId.startsWith(marker))).toEqual([]);
    expect((await database.query(`SELECT count(*)::int AS n FROM site_requests`)).rows[0].n).toBe(requestsBefore + 1);
    expect((await database.query(`SELECT count(*)::int AS n FROM pg_database WHERE datname = 'postgres'`)).rows[0].n).toBe(1);
  });

  it('validates ids and filters: 400 for a non-uuid, 404 for an unknown site, a status filter that lists', async () => {
    expect(await api('GET', '/sites/..%2F..%2Fetc')).toMatchObject({ status: 400, body: { errors: [{ field: 'id', message: 'must be a uuid' }] } });
    expect(await api('GET', `/sites/${randomUUID()}`)).toMatchObject({ status: 404 });
    expect(await api('GET', '/sites?status=RUNNING')).toMatchObject({ status: 400, body: { errors: [{ field: 'status' }] } });
    const { siteId } = await activeSite('listed');
    const listed = await api('GET', '/sites?status=ACTIVE&limit=500');
    expect(listed.status).toBe(200);
    expect(listed.body!.items.some((site: { id: string }) => site.id === siteId)).toBe(true);
    expect(listed.body!.items.every((site: { status: string }) => site.status === 'ACTIVE')).toBe(true);
  });

  it('deletes an active site: 202 DELETING with DeleteSite sent; again is 409; unknown is 404; pending is 409', async () => {
    const { siteId } = await activeSite('doomed');
    const accepted = await api('DELETE', `/sites/${siteId}`);
    expect(accepted).toMatchObject({ status: 202, body: { siteId, status: 'DELETING' } });
    const sagaId = accepted.body!.sagaId as string;
    expect(sagaId).not.toBe(siteId);
    await waitFor(() => createSiteCommands().find((envelope) => envelope.sagaId === sagaId && envelope.type === 'DeleteSite' && (envelope.payload as { siteId: string }).siteId === siteId), {
      within: '20s',
      what: 'DeleteSite on site-saga.commands',
    });
    expect((await rowOf(siteId))?.status).toBe('DELETING');
    expect(await api('DELETE', `/sites/${siteId}`)).toMatchObject({ status: 409, body: { errors: [{ field: 'id', message: 'is already being deleted' }] } });
    expect(await api('DELETE', `/sites/${randomUUID()}`)).toMatchObject({ status: 404 });
    expect(await api('DELETE', '/sites/not-a-uuid')).toMatchObject({ status: 400 });

    const pending = await api('POST', '/sites', { name: `pending-${run}`, domain: `pending-${run}.example.com`, adminEmail: 'me@example.com' });
    expect(await api('DELETE', `/sites/${pending.body!.siteId}`)).toMatchObject({ status: 409, body: { errors: [{ field: 'id', message: 'is still being created' }] } });

    // The delete saga's first step accepts the DELETING the API already set.
    const deleting = MarkSiteDeleting.create({ siteId }, causation(sagaId));
    await send(deleting);
    expect((await replyTo(deleting)).type).toBe('SiteMarkedDeleting');
  });
});
