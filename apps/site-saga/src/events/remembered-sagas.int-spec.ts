import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import {
  ActivateSite,
  BootstrapSite,
  causedBy,
  CreateSite,
  type Envelope,
  ProvisionDatabase,
  ProvisionStorage,
  ReserveSite,
} from '@sitesaga/contracts';
import { CreateMessagingTables1732400000000, type UnitOfWork } from '@sitesaga/messaging';
import { SAGA_ENTITIES, SAGA_MIGRATIONS, SagaEngine, SagaStore, sagaPreload } from '@sitesaga/saga';
import { createLogger } from '@sitesaga/service';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { freshDatabase } from '../../../../test/support/fresh-database';
import { SEALED_CREDENTIALS, testSaga } from '../admin/testing/test-site-saga';
import { testUnitOfWork } from '../testing/test-unit-of-work';

/**
 * A reply to a saga this process committed last is handled in ONE round trip: the saga is
 * remembered, and BEGIN, inbox row, version-checked save, outbox rows and COMMIT travel
 * together. These check what that must never change: a saga another replica moved since
 * is still advanced exactly once, a redelivered reply has no second effect, and two
 * replies of one saga fetched at once are both applied.
 */
jest.setTimeout(60_000);

let database: Awaited<ReturnType<typeof freshDatabase>>;
let dataSource: DataSource;
const logger = createLogger('site-saga', { level: 'silent', destination: new Writable({ write: (_chunk, _encoding, done) => done() }) });
const engine = new SagaEngine([testSaga], new SagaStore(), { timeScale: 0.01 });

/** One replica of the orchestrator: its own unit of work and its own memory of sagas, on the shared database. */
const replica = (): UnitOfWork => testUnitOfWork(dataSource, logger, { preload: sagaPreload(new SagaStore(), { starts: [CreateSite.type] }) });

beforeAll(async () => {
  database = await freshDatabase('remembered_sagas_it');
  dataSource = new DataSource({
    type: 'postgres',
    url: database.url,
    entities: [...SAGA_ENTITIES],
    migrations: [CreateMessagingTables1732400000000, ...SAGA_MIGRATIONS],
    logging: false,
  });
  await dataSource.initialize();
  await dataSource.runMigrations();
});

afterAll(async () => {
  await dataSource?.destroy();
  await database?.drop();
});

/** Statements the process sends to Postgres while `work` runs (each is one round trip). */
async function roundTrips<T>(work: () => Promise<T>): Promise<{ result: T; trips: number }> {
  const spy = jest.spyOn(Client.prototype, 'query');
  try {
    const result = await work();
    return { result, trips: spy.mock.calls.length };
  } finally {
    spy.mockRestore();
  }
}

/** Starts a create-site saga the way CreateSiteHandler does; `siteId` (default: the saga id) is its exclusion key. */
async function startSaga(unitOfWork: UnitOfWork, siteId?: string): Promise<string> {
  const sagaId = randomUUID();
  const name = `site-${sagaId.slice(0, 8)}`;
  const create = CreateSite.create({ name, domain: `${name}.example.com`, adminEmail: 'owner@example.com' }, { sagaId, correlationId: sagaId, causationId: null });
  const outcome = await unitOfWork.run(create, (tx) =>
    engine.start(tx, testSaga, { sagaId, data: { siteId: siteId ?? sagaId, name, domain: `${name}.example.com`, adminEmail: 'owner@example.com' }, cause: create }),
  );
  expect(outcome.status).toBe('done');
  return sagaId;
}

/** The last command of `type` the saga sent (from the outbox). */
async function sent(sagaId: string, type: string): Promise<Envelope> {
  const [row] = (await dataSource.query(`SELECT value FROM outbox_messages WHERE message_key = $1 AND type = $2 ORDER BY position DESC LIMIT 1`, [
    sagaId,
    type,
  ])) as { value: string }[];
  if (!row) throw new Error(`saga ${sagaId} sent no ${type}`);
  return JSON.parse(row.value) as Envelope;
}

const sentCount = async (sagaId: string, type: string): Promise<number> =>
  Number((await dataSource.query(`SELECT count(*) AS n FROM outbox_messages WHERE message_key = $1 AND type = $2`, [sagaId, type]))[0].n);

const stepStates = async (sagaId: string): Promise<Record<string, string>> =>
  Object.fromEntries(((await engine.store.load(dataSource.manager, sagaId))?.steps ?? []).map((step) => [step.name, step.state]));

const reply = (unitOfWork: UnitOfWork, envelope: Envelope) => unitOfWork.run(envelope, (tx) => engine.handleReply(tx, envelope));

const reserved = async (sagaId: string) =>
  ReserveSite.succeeded.create({ siteId: sagaId, name: 'n', domain: 'n.example.com' }, causedBy(await sent(sagaId, ReserveSite.type)));
const storageProvisioned = async (sagaId: string) =>
  ProvisionStorage.succeeded.create({ siteId: sagaId, path: `/srv/${sagaId}` }, causedBy(await sent(sagaId, ProvisionStorage.type)));
const databaseProvisioned = async (sagaId: string) =>
  ProvisionDatabase.succeeded.create(
    { siteId: sagaId, databaseName: 'site_x', roleName: 'site_x', credentials: SEALED_CREDENTIALS },
    causedBy(await sent(sagaId, ProvisionDatabase.type)),
  );

describe('replies to a saga this process remembers', () => {
  it('are handled in one round trip, with the same effects as the ordinary way', async () => {
    const a = replica();
    const sagaId = await startSaga(a);
    const { result, trips } = await roundTrips(async () => reply(a, await reserved(sagaId)));
    expect(result).toMatchObject({ status: 'done', result: true });
    // The reserved() lookup of the command is one statement of its own; the unit of work is the other.
    expect(trips).toBe(2);
    expect(await stepStates(sagaId)).toMatchObject({ ReserveSite: 'SUCCEEDED', ProvisionStorage: 'RUNNING', ProvisionDatabase: 'RUNNING' });
    expect(await sentCount(sagaId, ProvisionStorage.type)).toBe(1);
  });

  it('still advance a saga exactly once after another replica moved it since', async () => {
    const a = replica();
    const b = replica();
    const sagaId = await startSaga(a);
    await reply(a, await reserved(sagaId));
    // Replica B (a rebalance) handles the storage reply: A's memory of the saga is now stale.
    expect(await reply(b, await storageProvisioned(sagaId))).toMatchObject({ status: 'done', result: true });

    const outcome = await reply(a, await databaseProvisioned(sagaId));
    expect(outcome).toMatchObject({ status: 'done', result: true });
    expect(await stepStates(sagaId)).toMatchObject({ ProvisionStorage: 'SUCCEEDED', ProvisionDatabase: 'SUCCEEDED', BootstrapSite: 'RUNNING' });
    expect(await sentCount(sagaId, BootstrapSite.type)).toBe(1);
  });

  it('have no second effect when redelivered, on either replica', async () => {
    const a = replica();
    const b = replica();
    const sagaId = await startSaga(a);
    const envelope = await reserved(sagaId);
    expect(await reply(a, envelope)).toMatchObject({ status: 'done' });
    expect(await reply(a, envelope)).toEqual({ status: 'duplicate' });
    expect(await reply(b, envelope)).toEqual({ status: 'duplicate' });
    expect(await sentCount(sagaId, ProvisionStorage.type)).toBe(1);
    const inbox = await dataSource.query(`SELECT count(*)::int AS n FROM inbox_messages WHERE message_id = $1`, [envelope.id]);
    expect(inbox[0].n).toBe(1);
  });

  it('of parallel steps, fetched at once, are both applied: one waits for the other instead of failing its version check', async () => {
    const a = replica();
    const sagaId = await startSaga(a);
    await reply(a, await reserved(sagaId));
    const [storage, databaseReply] = [await storageProvisioned(sagaId), await databaseProvisioned(sagaId)];
    const outcomes = await Promise.all([reply(a, storage), reply(a, databaseReply)]);
    expect(outcomes).toEqual([expect.objectContaining({ status: 'done', result: true }), expect.objectContaining({ status: 'done', result: true })]);
    expect(await stepStates(sagaId)).toMatchObject({ ProvisionStorage: 'SUCCEEDED', ProvisionDatabase: 'SUCCEEDED', BootstrapSite: 'RUNNING' });
    expect(await sentCount(sagaId, BootstrapSite.type)).toBe(1);
  });

  it('end the saga and free its exclusion key, and the last one redelivered is not applied twice', async () => {
    const a = replica();
    const sagaId = await startSaga(a);
    await reply(a, await reserved(sagaId));
    await reply(a, await storageProvisioned(sagaId));
    await reply(a, await databaseProvisioned(sagaId));
    await reply(a, BootstrapSite.succeeded.create({ siteId: sagaId, adminUser: 'admin' }, causedBy(await sent(sagaId, BootstrapSite.type))));
    const activated = ActivateSite.succeeded.create({ siteId: sagaId, url: `https://${sagaId}.example.com` }, causedBy(await sent(sagaId, ActivateSite.type)));
    expect(await reply(a, activated)).toMatchObject({ status: 'done', result: true });
    expect((await engine.store.load(dataSource.manager, sagaId))!.status).toBe('COMPLETED');
    const holders = await dataSource.query(`SELECT count(*)::int AS n FROM saga_exclusion_holders WHERE saga_id = $1`, [sagaId]);
    expect(holders[0].n).toBe(0);
    // Redelivered: the remembered copy is gone (an ended saga is not kept), and the inbox says duplicate.
    expect(await reply(a, activated)).toEqual({ status: 'duplicate' });
    const history = await dataSource.query(`SELECT count(*)::int AS n FROM saga_history WHERE saga_id = $1 AND message_id = $2`, [sagaId, activated.id]);
    expect(history[0].n).toBe(1);
  });

  it('are read again after deadlines were postponed for an outage (the postponement is a new version)', async () => {
    const a = replica();
    const sagaId = await startSaga(a);
    await reply(a, await reserved(sagaId));
    const before = await engine.store.load(dataSource.manager, sagaId);
    const moved = await engine.postponeReplyDeadlines(dataSource.manager, { outageMs: 60_000, since: new Date() });
    expect(moved).toBeGreaterThanOrEqual(2);
    const postponed = await engine.store.load(dataSource.manager, sagaId);
    expect(postponed!.version).toBe(before!.version + 1);
    const databaseDeadline = postponed!.steps.find((step) => step.name === ProvisionDatabase.type)!.deadlineAt;

    // A's memory predates the postponement: the storage reply must not write the old deadline of the database step back.
    expect(await reply(a, await storageProvisioned(sagaId))).toMatchObject({ status: 'done', result: true });
    const after = await engine.store.load(dataSource.manager, sagaId);
    expect(after!.steps.find((step) => step.name === ProvisionDatabase.type)!.deadlineAt).toEqual(databaseDeadline);
    expect(after!.version).toBe(postponed!.version + 1);
  });
});

describe('starts and ends: the exclusion key taken for granted, and checked with the commit', () => {
  const holderOf = async (key: string): Promise<string | undefined> =>
    ((await dataSource.query(`SELECT saga_id FROM saga_exclusion_holders WHERE exclusion_key LIKE $1`, [`%${key}%`])) as { saga_id: string }[])[0]?.saga_id;

  /** Takes the saga through every step, each reply on `unitOfWork`; returns the trips of the last one. */
  async function complete(unitOfWork: UnitOfWork, sagaId: string): Promise<number> {
    await reply(unitOfWork, await reserved(sagaId));
    await reply(unitOfWork, await storageProvisioned(sagaId));
    await reply(unitOfWork, await databaseProvisioned(sagaId));
    await reply(unitOfWork, BootstrapSite.succeeded.create({ siteId: sagaId, adminUser: 'admin' }, causedBy(await sent(sagaId, BootstrapSite.type))));
    const activated = ActivateSite.succeeded.create({ siteId: sagaId, url: `https://${sagaId}.example.com` }, causedBy(await sent(sagaId, ActivateSite.type)));
    const { result, trips } = await roundTrips(() => reply(unitOfWork, activated));
    expect(result).toMatchObject({ status: 'done', result: true });
    return trips;
  }

  it('a start whose key is free, and an end nobody waits for, are one round trip each', async () => {
    const a = replica();
    const { result: sagaId, trips } = await roundTrips(() => startSaga(a));
    expect(trips).toBe(1);
    expect(await holderOf(sagaId)).toBe(sagaId);
    expect(await sentCount(sagaId, ReserveSite.type)).toBe(1);
    expect(await complete(a, sagaId)).toBe(1);
    expect((await engine.store.load(dataSource.manager, sagaId))!.status).toBe('COMPLETED');
    expect(await holderOf(sagaId)).toBeUndefined();
  });

  it('a start whose key is held waits for the holder, and the holder ending hands it the key', async () => {
    const a = replica();
    const siteId = randomUUID();
    const first = await startSaga(a, siteId);
    const second = await startSaga(a, siteId);
    expect((await engine.store.load(dataSource.manager, second))!.waitingFor).toBe(first);
    expect(await sentCount(second, ReserveSite.type)).toBe(0);

    await complete(a, first);
    expect((await engine.store.load(dataSource.manager, first))!.status).toBe('COMPLETED');
    expect(await holderOf(siteId)).toBe(second);
    const begun = await engine.store.load(dataSource.manager, second);
    expect(begun!.waitingFor).toBeNull();
    expect(await sentCount(second, ReserveSite.type)).toBe(1);
  });

  it('a CreateSite naming a saga that exists is refused, as the usual way refuses it', async () => {
    const a = replica();
    const sagaId = await startSaga(a);
    const name = `again-${sagaId.slice(0, 8)}`;
    const again = CreateSite.create({ name, domain: `${name}.example.com`, adminEmail: 'owner@example.com' }, { sagaId, correlationId: sagaId, causationId: null });
    await expect(
      a.run(again, (tx) => engine.start(tx, testSaga, { sagaId, data: { siteId: sagaId, name, domain: `${name}.example.com`, adminEmail: 'owner@example.com' }, cause: again })),
    ).rejects.toThrow(/already/);
    expect(await sentCount(sagaId, ReserveSite.type)).toBe(1);
  });
});

describe('a fetched batch of replies to sagas this process remembers', () => {
  const handleAll = (unitOfWork: UnitOfWork, envelopes: readonly Envelope[]) =>
    unitOfWork.runBatch(envelopes, async (index) => {
      await reply(unitOfWork, envelopes[index]!);
    });

  it('commits in one round trip', async () => {
    const a = replica();
    const sagas = [await startSaga(a), await startSaga(a)];
    const replies = [await reserved(sagas[0]!), await reserved(sagas[1]!)];
    const { result, trips } = await roundTrips(() => handleAll(a, replies));
    expect(result).toBe(true);
    expect(trips).toBe(1);
    for (const sagaId of sagas) {
      expect(await stepStates(sagaId)).toMatchObject({ ReserveSite: 'SUCCEEDED', ProvisionStorage: 'RUNNING' });
      expect(await sentCount(sagaId, ProvisionStorage.type)).toBe(1);
    }
  });

  it('of the two parallel steps, fetched from their two topics at once, both commit: one batch waits for the other', async () => {
    const a = replica();
    const sagas = [await startSaga(a), await startSaga(a)];
    for (const sagaId of sagas) await reply(a, await reserved(sagaId));
    const storage = [await storageProvisioned(sagas[0]!), await storageProvisioned(sagas[1]!)];
    const databases = [await databaseProvisioned(sagas[0]!), await databaseProvisioned(sagas[1]!)];
    // Two pooled connections ready, so that neither batch waits for one: they would overlap.
    await Promise.all([dataSource.query('SELECT 1'), dataSource.query('SELECT 1')]);
    const events: string[] = [];
    const tracked = (label: string, envelopes: readonly Envelope[]) =>
      a
        .runBatch(envelopes, async (index) => {
          events.push(`${label} handler`);
          await reply(a, envelopes[index]!);
        })
        .then((committed) => {
          events.push(`${label} done`);
          return committed;
        });
    expect(await Promise.all([tracked('storage', storage), tracked('databases', databases)])).toEqual([true, true]);
    expect(events).toEqual(['storage handler', 'storage handler', 'storage done', 'databases handler', 'databases handler', 'databases done']);
    for (const sagaId of sagas) {
      expect(await stepStates(sagaId)).toMatchObject({ ProvisionStorage: 'SUCCEEDED', ProvisionDatabase: 'SUCCEEDED', BootstrapSite: 'RUNNING' });
      expect(await sentCount(sagaId, BootstrapSite.type)).toBe(1);
    }
  });

  it('holding a reply handled before commits nothing, and the messages one by one have their effect once', async () => {
    const a = replica();
    const sagas = [await startSaga(a), await startSaga(a)];
    const first = await reserved(sagas[0]!);
    expect(await reply(a, first)).toMatchObject({ status: 'done' });
    const second = await reserved(sagas[1]!);

    expect(await handleAll(a, [first, second])).toBe(false);
    expect(await sentCount(sagas[1]!, ProvisionStorage.type)).toBe(0);
    // What the transport then does: each message alone.
    expect(await reply(a, first)).toEqual({ status: 'duplicate' });
    expect(await reply(a, second)).toMatchObject({ status: 'done', result: true });
    for (const sagaId of sagas) expect(await sentCount(sagaId, ProvisionStorage.type)).toBe(1);
  });
});
