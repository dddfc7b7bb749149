import { randomUUID } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DeprovisionStorage, type Envelope, ProvisionStorage, Topics } from '@sitesaga/contracts';
import { databaseUrlFor } from '@sitesaga/messaging';
import type { Kafka, Producer } from 'kafkajs';
import { Client } from 'pg';
import { headerOf, recordTopics, testKafka } from '../support/kafka-probe';
import { operatorHeaders, type ServiceProcess, startService } from '../support/service-process';
import { createTopicNamespace, type TopicNamespace } from '../support/topic-namespace';
import { waitFor } from '../support/wait-for';

/**
 * The storage service as a process, driven only through Kafka, asserting on the replies
 * and on the disk. Build first: pnpm --filter @sitesaga/storage... build
 */
jest.setTimeout(90_000);

const prefix = `e2e_storage_${randomUUID().slice(0, 8)}_`;
const sandbox = realpathSync(mkdtempSync(path.join(tmpdir(), 'storage-e2e-')));
const root = path.join(sandbox, 'root'); // created by the service at boot
const outside = path.join(sandbox, 'outside');

let kafka: Kafka;
let producer: Producer;
let probe: Awaited<ReturnType<typeof recordTopics>>;
/** Private copies of every topic: this file's service sees only this file's messages. */
let namespace: TopicNamespace;
let service: ServiceProcess;
let database: Client;
let env: Record<string, string>;

beforeAll(async () => {
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'precious.txt'), 'keep me');
  kafka = testKafka('storage-e2e');
  namespace = await createTopicNamespace(kafka, 'storage');
  env = {
    STORAGE_ROOT: root,
    DATABASE_NAME_PREFIX: prefix,
    KAFKA_TOPIC_PREFIX: namespace.prefix,
    // A killed member must leave the group quickly for the restarted one to get its partitions.
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    KAFKA_HEARTBEAT_INTERVAL_MS: '1000',
    HANDLER_ATTEMPTS: '3',
    HANDLER_BACKOFF_MS: '20',
    OUTBOX_POLL_MS: '200',
  };
  [service, probe] = await Promise.all([
    startService('storage', env),
    recordTopics(kafka, [namespace.topic(Topics.storageEvents), namespace.topic(`${Topics.storageCommands}.dlq`)]),
  ]);
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  database = new Client({ connectionString: databaseUrlFor('storage', { ...process.env, DATABASE_NAME_PREFIX: prefix }) });
  await database.connect();
});

afterAll(async () => {
  await service?.stop();
  await Promise.allSettled([probe?.stop(), producer?.disconnect(), database?.end()]);
  await namespace?.drop();
  const admin = new Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${prefix}storage" WITH (FORCE)`);
  await admin.end();
  rmSync(sandbox, { recursive: true, force: true });
});

const causation = (sagaId: string = randomUUID()) => ({ sagaId, correlationId: randomUUID(), causationId: null });

const send = async (...commands: (Envelope | { key: string; value: string; headers?: Record<string, string> })[]): Promise<void> => {
  await producer.send({
    topic: namespace.topic(Topics.storageCommands),
    messages: commands.map((command) => ('value' in command ? command : { key: command.sagaId, value: JSON.stringify(command) })),
  });
};

const repliesTo = (command: Envelope): Envelope[] =>
  probe.messages
    .filter((message) => message.topic === namespace.topic(Topics.storageEvents) && headerOf(message, 'causation-id') === command.id)
    .map((message) => JSON.parse(message.value!.toString()) as Envelope);

const replyTo = (command: Envelope, within: `${number}s` = '20s'): Promise<Envelope> =>
  waitFor(() => repliesTo(command)[0], { within, what: `the reply to ${command.type}` });

const recordOf = async (siteId: string): Promise<{ path: string; status: string } | undefined> =>
  (await database.query(`SELECT path, status FROM storage_records WHERE site_id = $1`, [siteId])).rows[0];

const siteEntries = () => readdirSync(root).filter((name) => !name.startsWith('.'));

describe('storage over Kafka', () => {
  it('provisions the site tree under STORAGE_ROOT, then deprovisions it; both again are successes', async () => {
    const siteId = randomUUID();
    const directory = path.join(root, siteId);
    const provision = ProvisionStorage.create({ siteId }, causation(siteId));
    await send(provision);
    expect(await replyTo(provision)).toMatchObject({ type: 'StorageProvisioned', sagaId: siteId, payload: { siteId, path: directory } });
    for (const folder of ['uploads', 'themes', 'plugins']) expect(lstatSync(path.join(directory, 'wp-content', folder)).isDirectory()).toBe(true);
    expect(await recordOf(siteId)).toEqual({ path: directory, status: 'PROVISIONED' });
    writeFileSync(path.join(directory, 'wp-content', 'uploads', 'photo.jpg'), 'x');

    const provisionAgain = ProvisionStorage.create({ siteId }, causation(siteId));
    await send(provisionAgain);
    expect((await replyTo(provisionAgain)).type).toBe('StorageProvisioned');
    expect(existsSync(path.join(directory, 'wp-content', 'uploads', 'photo.jpg'))).toBe(true); // untouched

    const deprovision = DeprovisionStorage.create({ siteId }, causation(siteId));
    await send(deprovision);
    expect(await replyTo(deprovision)).toMatchObject({ type: 'StorageDeprovisioned', payload: { siteId } });
    expect(existsSync(directory)).toBe(false);
    expect(await recordOf(siteId)).toEqual({ path: directory, status: 'DEPROVISIONED' });

    const deprovisionAgain = DeprovisionStorage.create({ siteId }, causation(siteId));
    const deprovisionUnknown = DeprovisionStorage.create({ siteId: randomUUID() }, causation());
    await send(deprovisionAgain, deprovisionUnknown);
    expect((await replyTo(deprovisionAgain)).type).toBe('StorageDeprovisioned');
    expect((await replyTo(deprovisionUnknown)).type).toBe('StorageDeprovisioned');
    expect(readdirSync(root).filter((name) => name.startsWith('.'))).toEqual([]); // no staging or trash left
  });

  it('gives a command delivered twice one effect and one reply', async () => {
    const siteId = randomUUID();
    const provision = ProvisionStorage.create({ siteId }, causation(siteId));
    await send(provision, provision);
    // A later command on the same key (partition) proves both copies were consumed.
    const sentinel = DeprovisionStorage.create({ siteId: randomUUID() }, causation(siteId));
    await send(sentinel);
    await replyTo(sentinel);
    expect(repliesTo(provision).map((reply) => reply.type)).toEqual(['StorageProvisioned']);
    expect((await database.query(`SELECT count(*)::int AS n FROM inbox_messages WHERE message_id = $1`, [provision.id])).rows[0].n).toBe(1);
    expect(existsSync(path.join(root, siteId))).toBe(true);
  });

  it('refuses a symlink planted at a site path as a business failure, without following it', async () => {
    const siteId = randomUUID();
    symlinkSync(outside, path.join(root, siteId));
    const provision = ProvisionStorage.create({ siteId }, causation(siteId));
    await send(provision);
    expect((await replyTo(provision)).payload).toMatchObject({ siteId, class: 'business', reason: expect.stringContaining('not a directory') });
    expect(await recordOf(siteId)).toBeUndefined(); // rolled back with the failed effect

    const deprovision = DeprovisionStorage.create({ siteId }, causation(siteId));
    await send(deprovision);
    expect((await replyTo(deprovision)).type).toBe('StorageDeprovisioned');
    expect(existsSync(path.join(root, siteId))).toBe(false);
    expect(readdirSync(outside)).toEqual(['precious.txt']);
  });

  it('sends commands with hostile site ids to the DLQ and touches nothing on disk', async () => {
    const before = siteEntries().sort();
    const marker = randomUUID();
    const hostile = ['../../etc', '../outside', '/etc/passwd', outside, '%2e%2e%2f%2e%2e%2fetc', `${randomUUID()}\u0000`, `${randomUUID()}/../../outside`, '．．/outside'];
    const sagaId = randomUUID();
    await send(
      ...hostile.map((siteId, index) => {
        const valid = ProvisionStorage.create({ siteId: randomUUID() }, causation(sagaId));
        return { key: sagaId, value: JSON.stringify({ ...valid, payload: { siteId } }), headers: { marker: `${marker}-${index}` } };
      }),
    );
    const letters = await waitFor(
      () => {
        const found = probe.messages.filter((message) => message.topic === namespace.topic(`${Topics.storageCommands}.dlq`) && headerOf(message, 'marker')?.startsWith(marker));
        return found.length === hostile.length && found;
      },
      { within: '20s', what: `${hostile.length} DLQ entries` },
    );
    for (const letter of letters) expect(JSON.parse(headerOf(letter, 'dlq-reasons') ?? '[]')).toEqual([{ field: 'payload.siteId', message: 'Invalid uuid' }]);
    expect(siteEntries().sort()).toEqual(before);
    expect(readdirSync(outside)).toEqual(['precious.txt']);
    expect(existsSync(path.join(sandbox, 'etc'))).toBe(false);
  });

  it('completes a command exactly once after the service is killed in the middle of it', async () => {
    const siteId = randomUUID();
    const rule = await fetch(`${service.url}/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...operatorHeaders() },
      body: JSON.stringify({ rules: [{ command: 'ProvisionStorage', mode: 'crash', rate: 1, match: siteId }] }),
    });
    expect(rule.status).toBe(200);
    const provision = ProvisionStorage.create({ siteId }, causation(siteId));
    await send(provision);
    expect(await service.exited).toMatchObject({ signal: 'SIGKILL' });
    expect(repliesTo(provision)).toEqual([]);

    service = await startService('storage', env); // fault rules are runtime only: gone with the process
    expect((await replyTo(provision, '45s')).type).toBe('StorageProvisioned');
    expect(lstatSync(path.join(root, siteId, 'wp-content', 'uploads')).isDirectory()).toBe(true);
    // One more command on the same partition, then count: still one reply, one inbox row, one record.
    const sentinel = DeprovisionStorage.create({ siteId: randomUUID() }, causation(siteId));
    await send(sentinel);
    await replyTo(sentinel);
    expect(repliesTo(provision)).toHaveLength(1);
    expect((await database.query(`SELECT count(*)::int AS n FROM inbox_messages WHERE message_id = $1`, [provision.id])).rows[0].n).toBe(1);
    expect(await recordOf(siteId)).toEqual({ path: path.join(root, siteId), status: 'PROVISIONED' });
  });
});
