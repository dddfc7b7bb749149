/**
 * The databases service as a process, driven only through Kafka and HTTP, checked on the
 * real Postgres server: a database and login role per site, its compensation, duplicates,
 * hostile input, a crash mid-command, and no password in any log line or message.
 *
 * Needs `pnpm --filter @sitesaga/databases... build` first.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { DropDatabase, type Envelope, ProvisionDatabase, Topics, dlqTopicOf } from '@sitesaga/contracts';
import { openSecret } from '@sitesaga/secrets';
import { type Producer } from 'kafkajs';
import { Client } from 'pg';
import { SiteCredentials } from '@sitesaga/databases/testing';
import { verifierMatches } from '@sitesaga/databases/testing';
import { siteDatabaseNames } from '@sitesaga/contracts';
import { consumerGroupAtEnd } from '../support/consumer-group';
import { headerOf, recordTopics, testKafka } from '../support/kafka-probe';
import { operatorHeaders, type ServiceProcess, startService } from '../support/service-process';
import { waitFor } from '../support/wait-for';

jest.setTimeout(60_000);

const serverUrl = (database = 'postgres', user?: string, password?: string): string => {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = `/${database}`;
  if (user) {
    url.username = user;
    url.password = password ? encodeURIComponent(password) : '';
  }
  return url.toString();
};

const secretsKey = randomBytes(32);
const prefix = `e2e_databases_${randomBytes(3).toString('hex')}_`;
const serviceEnv: Record<string, string> = {
  DATABASE_NAME_PREFIX: prefix,
  SECRETS_KEY: secretsKey.toString('hex'),
  HANDLER_BACKOFF_MS: '20',
  // A killed replica's partitions move to its successor within seconds, not the default 30.
  KAFKA_SESSION_TIMEOUT_MS: '6000',
  KAFKA_HEARTBEAT_INTERVAL_MS: '500',
  LOG_LEVEL: 'debug',
};

type Login = { user: string; password: string };
type Provisioned = { siteId: string; databaseName: string; roleName: string; credentials: string };

describe('databases service', () => {
  let service: ServiceProcess;
  const outputs: string[] = [];
  let producer: Producer;
  let probe: Awaited<ReturnType<typeof recordTopics>>;
  let admin: Client;
  let group: Awaited<ReturnType<typeof consumerGroupAtEnd>> | undefined;
  const sites: string[] = [];
  const passwords = new Set<string>();

  const newSite = (): string => {
    const siteId = randomUUID();
    sites.push(siteId);
    return siteId;
  };

  const send = async (envelope: Envelope | Record<string, unknown>, topic: string = Topics.databasesCommands): Promise<void> => {
    await producer.send({ topic, messages: [{ key: String(envelope.sagaId), value: JSON.stringify(envelope) }] });
  };

  const repliesOf = (sagaId: string): Envelope[] =>
    probe.messages
      .filter((message) => message.topic === Topics.databasesEvents)
      .map((message) => JSON.parse(message.value!.toString()) as Envelope)
      .filter((envelope) => envelope.sagaId === sagaId);

  const waitForReplies = (sagaId: string, count: number, what: string): Promise<Envelope[]> =>
    waitFor(() => (repliesOf(sagaId).length >= count ? repliesOf(sagaId) : undefined), { within: '30s', what });

  const command = <P>(definition: { create(payload: P, causation: { sagaId: string; correlationId: string; causationId: null }): Envelope<P> }, payload: P, sagaId: string = randomUUID()) =>
    definition.create(payload, { sagaId, correlationId: randomUUID(), causationId: null });

  const provision = async (siteId: string): Promise<Provisioned> => {
    const sent = command(ProvisionDatabase, { siteId });
    await send(sent);
    const [reply] = await waitForReplies(sent.sagaId, 1, `DatabaseProvisioned for ${siteId}`);
    expect(reply?.type).toBe('DatabaseProvisioned');
    return reply!.payload as Provisioned;
  };

  const open = (provisioned: Provisioned): Login => {
    const login = openSecret<Login>(secretsKey, provisioned.credentials, { context: provisioned.siteId });
    passwords.add(login.password);
    return login;
  };

  const connectAs = async (login: Login, database: string): Promise<Client> => {
    const client = new Client({ connectionString: serverUrl(database, login.user, login.password) });
    client.on('error', () => undefined); // a terminated session must not crash the test
    await client.connect();
    return client;
  };

  const catalog = async (siteId: string) => {
    const { databaseName, roleName } = siteDatabaseNames(siteId);
    const { rows } = await admin.query<{ role: boolean; database: boolean; owner: string | null; limit: number | null; verifier: string | null; public_connect: boolean | null }>(
      `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS role,
              EXISTS (SELECT 1 FROM pg_database WHERE datname = $2) AS database,
              (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $2) AS owner,
              (SELECT rolconnlimit FROM pg_roles WHERE rolname = $1) AS limit,
              (SELECT rolpassword FROM pg_authid WHERE rolname = $1) AS verifier,
              (SELECT has_database_privilege('public', $2, 'CONNECT') WHERE EXISTS (SELECT 1 FROM pg_database WHERE datname = $2)) AS public_connect`,
      [roleName, databaseName],
    );
    return rows[0]!;
  };

  const serviceDatabase = async <T>(work: (client: Client) => Promise<T>): Promise<T> => {
    const client = new Client({ connectionString: serverUrl(`${prefix}databases`) });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };

  const restart = async (env: Record<string, string> = {}): Promise<void> => {
    service = await startService('databases', { ...serviceEnv, ...env });
    outputs.push('');
  };

  beforeAll(async () => {
    admin = new Client({ connectionString: serverUrl() });
    await admin.connect();
    const kafka = testKafka('databases-e2e');
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    probe = await recordTopics(kafka, [Topics.databasesEvents, dlqTopicOf(Topics.databasesCommands)]);
    // A consumer group of this run, at the end of the topic: the service reads only this
    // run's commands, never another run's (which would create their databases again).
    group = await consumerGroupAtEnd(kafka, 'databases-e2e', [Topics.databasesCommands]);
    serviceEnv.KAFKA_GROUP_ID = group.groupId;
    await restart();
  });

  afterAll(async () => {
    await service?.stop();
    await probe?.stop();
    await group?.drop();
    await producer?.disconnect();
    for (const siteId of sites) {
      const { databaseName, roleName } = siteDatabaseNames(siteId);
      await admin.query(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`);
      await admin.query(`DROP ROLE IF EXISTS "${roleName}"`);
    }
    // The service's database, and its warm pool's template and spares (and their roles).
    for (const { datname } of (await admin.query(`SELECT datname FROM pg_database WHERE left(datname, length($1)) = $1`, [prefix])).rows)
      await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    for (const { rolname } of (await admin.query(`SELECT rolname FROM pg_roles WHERE left(rolname, length($1)) = $1`, [prefix])).rows)
      await admin.query(`DROP ROLE IF EXISTS "${rolname}"`);
    await admin.end();
  });

  it('provisions a database that only its own role can reach, with the SCRAM verifier of the sealed password', async () => {
    const [siteA, siteB] = [newSite(), newSite()];
    const [a, b] = await Promise.all([provision(siteA), provision(siteB)]);
    expect(a).toMatchObject({ siteId: siteA, ...siteDatabaseNames(siteA) });
    const loginA = open(a);
    const loginB = open(b);
    expect(loginA.user).toBe(a.roleName);
    expect(loginA.password.length).toBeGreaterThanOrEqual(32);
    expect(a.credentials).not.toContain(loginA.password);

    const state = await catalog(siteA);
    expect(state).toMatchObject({ role: true, database: true, owner: a.roleName, limit: 20, public_connect: false });
    // Postgres holds the verifier of exactly the password bootstrap will open, and nothing else.
    expect(state.verifier).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(await verifierMatches(state.verifier!, loginA.password)).toBe(true);
    const { rows: attributes } = await admin.query('SELECT rolsuper, rolcreatedb, rolcreaterole, rolcanlogin FROM pg_roles WHERE rolname = $1', [a.roleName]);
    expect(attributes[0]).toEqual({ rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolcanlogin: true });

    // The role logs in to its database and owns it (it can create tables in public).
    const own = await connectAs(loginA, a.databaseName);
    await own.query('CREATE TABLE probe (id int)');
    await own.end();
    // ...but cannot connect to another site's database,
    await expect(connectAs(loginA, b.databaseName)).rejects.toMatchObject({ code: '42501' });
    await expect(connectAs(loginB, a.databaseName)).rejects.toMatchObject({ code: '42501' });
    // ...nor can any other login (PUBLIC has no CONNECT).
    const stranger = `e2e_stranger_${randomBytes(3).toString('hex')}`;
    await admin.query(`CREATE ROLE ${stranger} LOGIN`);
    try {
      await expect(connectAs({ user: stranger, password: 'x' }, a.databaseName)).rejects.toMatchObject({ code: '42501' });
    } finally {
      await admin.query(`DROP ROLE ${stranger}`);
    }

    // At rest: the record has the password encrypted, never in the clear.
    const record = await serviceDatabase(async (client) => (await client.query('SELECT * FROM database_records WHERE site_id = $1', [siteA])).rows[0]);
    expect(record).toMatchObject({ status: 'PROVISIONED', database_name: a.databaseName, role_name: a.roleName });
    expect(record.password_encrypted).not.toContain(loginA.password);
    expect(new SiteCredentials(secretsKey).decryptFromStorage(siteA, record.password_encrypted)).toBe(loginA.password);
  });

  it('drops the database and its role, ending a session connected to it', async () => {
    const siteId = newSite();
    const provisioned = await provision(siteId);
    const session = await connectAs(open(provisioned), provisioned.databaseName);
    await session.query('SELECT 1');

    const drop = command(DropDatabase, { siteId });
    await send(drop);
    const [reply] = await waitForReplies(drop.sagaId, 1, 'DatabaseDropped');
    expect(reply).toMatchObject({ type: 'DatabaseDropped', payload: { siteId }, causationId: drop.id });
    expect(await catalog(siteId)).toMatchObject({ role: false, database: false });
    await expect(session.query('SELECT 1')).rejects.toThrow();
    const record = await serviceDatabase(async (client) => (await client.query('SELECT status, password_encrypted FROM database_records WHERE site_id = $1', [siteId])).rows[0]);
    expect(record).toEqual({ status: 'DROPPED', password_encrypted: null });

    // A late ProvisionDatabase cannot bring it back: refused for a business reason.
    const late = command(ProvisionDatabase, { siteId });
    await send(late);
    const [refusal] = await waitForReplies(late.sagaId, 1, 'DatabaseProvisioningFailed');
    expect(refusal).toMatchObject({ type: 'DatabaseProvisioningFailed', payload: { siteId, class: 'business' } });
    expect(await catalog(siteId)).toMatchObject({ role: false, database: false });
  });

  it('drops a database that was never created: success', async () => {
    const siteId = newSite();
    const drop = command(DropDatabase, { siteId });
    await send(drop);
    const [reply] = await waitForReplies(drop.sagaId, 1, 'DatabaseDropped');
    expect(reply).toMatchObject({ type: 'DatabaseDropped', payload: { siteId } });
  });

  it('has one effect for a command sent twice, and the same credentials for a re-sent one', async () => {
    const siteId = newSite();
    const first = command(ProvisionDatabase, { siteId });
    await send(first);
    await send(first); // the same envelope: a redelivery
    const [original] = await waitForReplies(first.sagaId, 1, 'DatabaseProvisioned');
    const verifier = (await catalog(siteId)).verifier;

    // A fresh id for the same site, on the same saga (so, the same partition, after the duplicate).
    const again = ProvisionDatabase.create({ siteId }, { sagaId: first.sagaId, correlationId: first.correlationId, causationId: null });
    await send(again);
    const replies = await waitForReplies(first.sagaId, 2, 'a reply to the re-sent command');
    expect(replies.map((reply) => [reply.type, reply.causationId])).toEqual([
      ['DatabaseProvisioned', first.id],
      ['DatabaseProvisioned', again.id],
    ]);
    const [a, b] = replies.map((reply) => reply.payload as Provisioned) as [Provisioned, Provisioned];
    expect(b).toMatchObject({ siteId, databaseName: a.databaseName, roleName: a.roleName });
    expect(open(b)).toEqual(open(original!.payload as Provisioned));
    expect((await catalog(siteId)).verifier).toBe(verifier); // the role was not touched again

    // Dropping twice, by redelivery and by a fresh id: one drop, two successes.
    const drop = command(DropDatabase, { siteId });
    await send(drop);
    await send(drop);
    const dropAgain = DropDatabase.create({ siteId }, { sagaId: drop.sagaId, correlationId: drop.correlationId, causationId: null });
    await send(dropAgain);
    const drops = await waitForReplies(drop.sagaId, 2, 'two DatabaseDropped');
    expect(drops.map((reply) => [reply.type, reply.causationId])).toEqual([
      ['DatabaseDropped', drop.id],
      ['DatabaseDropped', dropAgain.id],
    ]);
    expect(await catalog(siteId)).toMatchObject({ role: false, database: false });
  });

  it('dead-letters a hostile or malformed command with its reason, and touches nothing', async () => {
    const sagaId = randomUUID();
    const hostile = {
      id: randomUUID(),
      type: 'ProvisionDatabase',
      version: 1,
      sagaId,
      correlationId: sagaId,
      causationId: null,
      occurredAt: new Date().toISOString(),
      payload: { siteId: '"; drop database postgres;--' },
    };
    const extraField = { ...hostile, id: randomUUID(), payload: { siteId: randomUUID(), databaseName: 'postgres' } };
    await send(hostile);
    await send(extraField);
    const letters = await waitFor(
      () => {
        const found = probe.messages.filter((message) => message.topic === dlqTopicOf(Topics.databasesCommands) && String(message.value).includes(sagaId));
        return found.length >= 2 ? found : undefined;
      },
      { within: '30s', what: 'two dead letters' },
    );
    expect(letters.map((letter) => headerOf(letter, 'dlq-reasons'))).toEqual([
      expect.stringContaining('payload.siteId'),
      expect.stringContaining('payload.databaseName'),
    ]);
    expect(repliesOf(sagaId)).toEqual([]);
    expect((await admin.query(`SELECT count(*)::int AS n FROM pg_database WHERE datname = 'postgres'`)).rows[0].n).toBe(1);
  });

  it('finishes the work of an attempt that died between creating the role and the database', async () => {
    const siteId = newSite();
    const { roleName } = siteDatabaseNames(siteId);
    // What a crashed attempt leaves: the role (made by the provisioner, with a password nobody knows), no database, no record.
    await admin.query('SET ROLE sitesaga_provisioner');
    await admin.query(`CREATE ROLE "${roleName}" LOGIN PASSWORD 'SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0c2FsdA==$${'A'.repeat(43)}=:${'A'.repeat(43)}='`);
    await admin.query('RESET ROLE');
    const provisioned = await provision(siteId);
    const login = open(provisioned);
    expect(await catalog(siteId)).toMatchObject({ role: true, database: true, owner: roleName, limit: 20 });
    expect(await verifierMatches((await catalog(siteId)).verifier!, login.password)).toBe(true);
  });

  it('completes a command exactly once when the service is killed in the middle of it', async () => {
    const siteId = newSite();
    const response = await fetch(`${service.url}/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...operatorHeaders() },
      body: JSON.stringify({ rules: [{ command: 'ProvisionDatabase', mode: 'crash', rate: 1, match: siteId }] }),
    });
    expect(response.status).toBe(200);
    const sent = command(ProvisionDatabase, { siteId });
    await send(sent);
    const exit = await service.exited;
    expect(exit.signal).toBe('SIGKILL');
    outputs[outputs.length - 1] = service.output();
    expect(repliesOf(sent.sagaId)).toEqual([]);

    await restart(); // no fault this time: the uncommitted command is read again
    const [reply] = await waitForReplies(sent.sagaId, 1, 'DatabaseProvisioned after the restart');
    expect(reply?.type).toBe('DatabaseProvisioned');
    open(reply!.payload as Provisioned);
    expect(await catalog(siteId)).toMatchObject({ role: true, database: true });
    const records = await serviceDatabase(async (client) => (await client.query('SELECT count(*)::int AS n FROM database_records WHERE site_id = $1', [siteId])).rows[0].n);
    expect(records).toBe(1);
    // Nothing more arrives for it: a later command on the same partition is answered, and still one reply.
    const probeDrop = command(DropDatabase, { siteId: newSite() }, sent.sagaId);
    await send(probeDrop);
    await waitForReplies(sent.sagaId, 2, 'the following command answered');
    expect(repliesOf(sent.sagaId).filter((envelope) => envelope.type === 'DatabaseProvisioned')).toHaveLength(1);
  });

  it('loses and leaks nothing when killed with SIGKILL while claiming spares and refilling its pool', async () => {
    const spares = async () =>
      (
        await admin.query<{ name: string; ready: boolean }>(
          `SELECT r.rolname AS name, COALESCE(d.datdba = r.oid AND NOT has_database_privilege('public', d.oid, 'CONNECT'), false) AS ready
             FROM pg_roles r LEFT JOIN pg_database d ON d.datname = r.rolname WHERE left(r.rolname, length($1)) = $1`,
          [`${prefix}spare_`],
        )
      ).rows;
    const ids = Array.from({ length: 8 }, () => newSite());
    const sent = ids.map((siteId) => command(ProvisionDatabase, { siteId }));
    for (const envelope of sent) await send(envelope);
    // Killed as soon as the first site is answered: claims, fallbacks and refills are in flight.
    await waitFor(() => sent.some((envelope) => repliesOf(envelope.sagaId).length > 0), { within: '60s', what: 'a first DatabaseProvisioned' });
    await service.kill();
    outputs[outputs.length - 1] = service.output();
    await restart();
    for (const envelope of sent) await waitForReplies(envelope.sagaId, 1, `DatabaseProvisioned for ${envelope.payload.siteId}`);
    for (const [index, envelope] of sent.entries()) {
      // Handled exactly once: one reply (an outbox row the killed relay had sent but not yet
      // marked is sent again after the restart, with the same id: at-least-once delivery).
      const replies = repliesOf(envelope.sagaId);
      expect([...new Set(replies.map((reply) => `${reply.type} ${reply.id}`))]).toHaveLength(1);
      expect(replies[0]!.type).toBe('DatabaseProvisioned');
      const login = open(replies[0]!.payload as Provisioned);
      expect(await catalog(ids[index]!)).toMatchObject({ role: true, database: true, owner: login.user, limit: 20, public_connect: false });
      const client = await connectAs(login, siteDatabaseNames(ids[index]!).databaseName);
      await client.end();
    }
    // The pool is whole again: every spare of this deployment is ready, none half built, at most the pool's size.
    let seen: { name: string; ready: boolean }[] = [];
    await waitFor(
      async () => {
        seen = await spares();
        return seen.length === 4 && seen.every((spare) => spare.ready);
      },
      { within: '60s', what: 'four ready spares and nothing half built' },
    ).catch(async (error: Error) => {
      const pool = (await (await fetch(`${service.url}/metrics`)).text()).split('\n').filter((line) => line.startsWith('site_database_pool_'));
      throw new Error(`${error.message}; spares on the server: ${JSON.stringify(seen)}; the pool's metrics: ${pool.join(', ')}`, { cause: error });
    });
    // Dropped, nothing of the sites is left.
    const drops = ids.map((siteId) => command(DropDatabase, { siteId }));
    for (const envelope of drops) await send(envelope);
    for (const envelope of drops) await waitForReplies(envelope.sagaId, 1, 'DatabaseDropped');
    for (const siteId of ids) expect(await catalog(siteId)).toMatchObject({ role: false, database: false });
    // Longer than the file's 60 s: its own waits add up to more than that on a loaded machine,
    // and the wait that is late should be the one that says what it waited for.
  }, 240_000);

  it('never writes a password in the clear to its log or to Kafka', async () => {
    outputs[outputs.length - 1] = service.output();
    expect(passwords.size).toBeGreaterThanOrEqual(5);
    const logs = outputs.join('\n');
    expect(logs).toContain('site database provisioned'); // debug logging was on: the scan saw real traffic
    const kafkaValues = probe.messages.map((message) => `${message.value?.toString() ?? ''} ${JSON.stringify(message.headers ?? {})}`).join('\n');
    for (const password of passwords) {
      expect(logs).not.toContain(password);
      expect(kafkaValues).not.toContain(password);
    }
  });
});
