import { randomBytes, randomUUID } from 'node:crypto';
import { type Envelope, ProvisionDatabase, siteDatabaseNames, Topics } from '@sitesaga/contracts';
import { databaseUrlFor, ensureDatabaseExists } from '@sitesaga/messaging';
import type { Kafka, Producer } from 'kafkajs';
import { Client } from 'pg';
import { type DedicatedPostgres, startDedicatedPostgres } from '../support/dedicated-postgres';
import { recordTopics, testKafka } from '../support/kafka-probe';
import { type ServiceProcess, startService } from '../support/service-process';
import { createTopicNamespace, type TopicNamespace } from '../support/topic-namespace';
import { waitFor } from '../support/wait-for';

/**
 * Site roles reach their own database and nothing else on the server: tried by logging in
 * as a freshly provisioned site role to every database of a server of this test's own
 * (the shared server holds other runs' databases, created while this one runs).
 */
jest.setTimeout(180_000);

const prefix = `e2e_lp_${randomBytes(3).toString('hex')}_`;

let postgres: DedicatedPostgres;
let kafka: Kafka;
let producer: Producer;
let namespace: TopicNamespace;
let probe: Awaited<ReturnType<typeof recordTopics>>;
let service: ServiceProcess;
let admin: Client;

const urlOf = (database: string, user = 'postgres'): string => {
  const url = new URL(postgres.url);
  url.pathname = `/${database}`;
  url.username = user;
  return url.toString();
};

beforeAll(async () => {
  postgres = await startDedicatedPostgres('least-privilege');
  admin = new Client({ connectionString: postgres.url });
  await admin.connect();
  // A platform database made before the service ever ran (as an older release made them).
  await admin.query(`CREATE DATABASE "${prefix}legacy"`);
  kafka = testKafka('least-privilege-e2e');
  namespace = await createTopicNamespace(kafka, 'least-privilege');
  probe = await recordTopics(kafka, [namespace.topic(Topics.databasesEvents)]);
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  service = await startService('databases', {
    DATABASE_URL: postgres.url,
    SITE_DATABASE_URL: postgres.url,
    DATABASE_NAME_PREFIX: prefix,
    KAFKA_TOPIC_PREFIX: namespace.prefix,
    HANDLER_BACKOFF_MS: '20',
  });
});

afterAll(async () => {
  await service?.stop();
  await Promise.allSettled([probe?.stop(), producer?.disconnect(), admin?.end()]);
  await namespace?.drop();
  await postgres?.destroy();
});

const provision = async (): Promise<{ databaseName: string; roleName: string }> => {
  const siteId = randomUUID();
  const command = ProvisionDatabase.create({ siteId }, { sagaId: siteId, correlationId: siteId, causationId: null });
  await producer.send({ topic: namespace.topic(Topics.databasesCommands), messages: [{ key: siteId, value: JSON.stringify(command) }] });
  const reply = await waitFor(
    () =>
      probe.messages
        .map((message) => JSON.parse(message.value!.toString()) as Envelope)
        .find((envelope) => envelope.sagaId === siteId && envelope.type === 'DatabaseProvisioned'),
    { within: '60s', what: `DatabaseProvisioned for ${siteId}` },
  );
  expect(reply.payload).toMatchObject(siteDatabaseNames(siteId));
  return siteDatabaseNames(siteId);
};

/** Logs in as `role` (the server trusts the password: only privileges decide) and says what happened. */
const tryConnect = async (role: string, database: string): Promise<'connected' | string> => {
  const client = new Client({ connectionString: urlOf(database, role), connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return 'connected';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
};

describe('least privilege on the database server', () => {
  it('lets a freshly created site role connect to its own database and to no other database of the server', async () => {
    const [mine, theirs] = await Promise.all([provision(), provision()]);
    // A platform database created after the service booted, the way every service creates its own.
    await ensureDatabaseExists(databaseUrlFor('sites', { DATABASE_URL: postgres.url, DATABASE_NAME_PREFIX: prefix }));

    const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname`);
    const others = rows.map((row) => row.datname).filter((name) => name !== mine.databaseName);
    expect(others).toEqual(
      expect.arrayContaining(['postgres', 'template1', `${prefix}legacy`, `${prefix}databases`, `${prefix}sites`, theirs.databaseName]),
    );
    expect(await tryConnect(mine.roleName, mine.databaseName)).toBe('connected');
    const reached = await Promise.all(others.map(async (database) => ({ database, outcome: await tryConnect(mine.roleName, database) })));
    // 42501: insufficient_privilege ("permission denied for database").
    expect(reached).toEqual(others.map((database) => ({ database, outcome: '42501' })));
  });

  it('leaves PUBLIC no way into template1 and DDL to a provisioner that is no superuser', async () => {
    const template1 = new Client({ connectionString: urlOf('template1') });
    await template1.connect();
    try {
      const { rows } = await template1.query<{ create: boolean }>(`SELECT has_schema_privilege('public', 'public', 'CREATE') AS create`);
      expect(rows[0]?.create).toBe(false);
    } finally {
      await template1.end();
    }
    const { rows } = await admin.query<{ rolsuper: boolean; public_connect: boolean }>(
      `SELECT rolsuper, has_database_privilege('public', 'template1', 'CONNECT') AS public_connect FROM pg_roles WHERE rolname = 'sitesaga_provisioner'`,
    );
    expect(rows[0]).toEqual({ rolsuper: false, public_connect: false });
  });
});
