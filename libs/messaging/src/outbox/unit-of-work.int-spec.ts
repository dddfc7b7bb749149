import { randomUUID } from 'node:crypto';
import { type Envelope, ProvisionStorage, SITE_CATALOGUE } from '@sitesaga/contracts';
import { Client } from 'pg';
import pino from 'pino';
import { DataSource } from 'typeorm';
import { freshDatabase } from '../../../../test/support/fresh-database';
import { startTcpProxy, type TcpProxy } from '../../../../test/support/tcp-proxy';
import { waitFor } from '../../../../test/support/wait-for';
import { CreateMessagingTables1732400000000 } from '../persistence/1732400000000-create-messaging-tables';
import { withDeliveryAttempt } from '../retry/delivery-attempt';
import { UnitOfWork } from './unit-of-work';

/**
 * The unit of work's pool when the server drops its sessions (pg_terminate_backend: what a
 * server restart or a failover does to every connection, without stopping the shared
 * server). A participant must wait such an outage out and answer the command with its
 * success, never with a failure; errors a retry cures (deadlocks) are the transport's to
 * retry, and answered with a transient failure on its last attempt.
 */
jest.setTimeout(90_000);
const logger = pino({ level: 'silent' });
const APPLICATION = `uow-it-${randomUUID().slice(0, 8)}`;

let database: Awaited<ReturnType<typeof freshDatabase>>;
let dataSource: DataSource;
let admin: Client;
let unitOfWork: UnitOfWork;
/** Between the pool and the server: the network, which a test can break. */
let proxy: TcpProxy;

const command = (): Envelope => {
  const sagaId = randomUUID();
  return ProvisionStorage.create({ siteId: sagaId }, { sagaId, correlationId: sagaId, causationId: null });
};

const outboxOf = async (sagaId: string): Promise<{ type: string; class: string | null }[]> =>
  dataSource.query(
    `SELECT value::jsonb->>'type' AS type, value::jsonb->'payload'->>'class' AS class FROM outbox_messages WHERE message_key = $1 ORDER BY position`,
    [sagaId],
  );

const inboxCount = async (messageId: string): Promise<number> =>
  Number((await dataSource.query(`SELECT count(*) AS n FROM inbox_messages WHERE message_id = $1`, [messageId]))[0].n);

/** Ends, as the server would, every session of this test that is running `marker`. */
const terminateSessionsRunning = async (marker: string): Promise<number> =>
  (
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = $1 AND application_name = $2 AND query LIKE $3 AND pid <> pg_backend_pid()`,
      [database.name, APPLICATION, `%${marker}%`],
    )
  ).rowCount ?? 0;

beforeAll(async () => {
  database = await freshDatabase('uow_it');
  const server = new URL(database.url);
  proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
  dataSource = new DataSource({
    type: 'postgres',
    url: proxy.via(database.url),
    migrations: [CreateMessagingTables1732400000000],
    logging: false,
    extra: { max: 3, application_name: APPLICATION, connectionTimeoutMillis: 5_000 },
  });
  await dataSource.initialize();
  await dataSource.runMigrations();
  admin = new Client({ connectionString: database.url });
  await admin.connect();
  unitOfWork = new UnitOfWork(dataSource, {
    consumer: 'uow-it',
    catalogue: SITE_CATALOGUE,
    logger,
    backoff: { initialMs: 20, factor: 2, maxMs: 200, jitter: 0 },
  });
});

afterAll(async () => {
  await admin?.end();
  await dataSource?.destroy();
  await proxy?.close();
  await database?.drop();
});

describe('UnitOfWork when the database drops its connections', () => {
  it('answers a command with its success after its sessions were killed more times than it has attempts', async () => {
    const envelope = command();
    const marker = `uow_outage_${randomUUID().replace(/-/g, '')}`;
    let runs = 0;
    // The first four runs hang in the database and lose their session there: an outage
    // that outlasts any number of attempts a transient error gets (an outage spends none).
    const handled = unitOfWork.handleCommand(envelope, async (tx) => {
      runs += 1;
      if (runs <= 4) await tx.manager.query(`SELECT pg_sleep(30), '${marker}'`);
      tx.reply(ProvisionStorage.succeeded, { siteId: envelope.sagaId, path: `/srv/${envelope.sagaId}` });
    });
    let terminated = 0;
    await waitFor(
      async () => {
        terminated += await terminateSessionsRunning(marker);
        return terminated >= 4;
      },
      { within: '60s', what: 'four sessions of the unit of work terminated mid-transaction', interval: 50 },
    );

    await expect(handled).resolves.toMatchObject({ status: 'done' });
    expect(runs).toBe(5);
    expect(await outboxOf(envelope.sagaId)).toEqual([{ type: ProvisionStorage.succeeded.type, class: null }]);
    expect(await inboxCount(envelope.id)).toBe(1);
    // The pool is whole again: a plain unit of work goes through at once.
    await expect(unitOfWork.run(null, async (tx) => tx.manager.query('SELECT 1'))).resolves.toMatchObject({ status: 'done' });
  });

  it('survives a session killed while idle in the pool, without an unhandled error', async () => {
    await unitOfWork.run(null, async (tx) => tx.manager.query('SELECT 1'));
    const killed = await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 AND pid <> pg_backend_pid()`,
      [database.name, APPLICATION],
    );
    expect(killed.rowCount).toBeGreaterThan(0);
    const envelope = command();
    await expect(
      unitOfWork.handleCommand(envelope, async (tx) => {
        tx.reply(ProvisionStorage.succeeded, { siteId: envelope.sagaId, path: `/srv/${envelope.sagaId}` });
      }),
    ).resolves.toMatchObject({ status: 'done' });
    expect(await outboxOf(envelope.sagaId)).toEqual([{ type: ProvisionStorage.succeeded.type, class: null }]);
  });

  it('hands a deadlock back to the transport before its last attempt, and answers it with a transient failure on the last', async () => {
    const envelope = command();
    let runs = 0;
    const deadlock = async (): Promise<void> => {
      runs += 1;
      throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
    };
    const attempt = (n: number) => ({ messageId: envelope.id, attempt: n, last: n === 2, spent: false });
    await expect(withDeliveryAttempt(attempt(1), () => unitOfWork.handleCommand(envelope, deadlock))).rejects.toMatchObject({ code: '40P01' });
    expect(runs).toBe(1);
    expect(await outboxOf(envelope.sagaId)).toEqual([]);
    expect(await inboxCount(envelope.id)).toBe(0);

    const outcome = await withDeliveryAttempt(attempt(2), () => unitOfWork.handleCommand(envelope, deadlock));
    expect(outcome.status).toBe('done');
    expect(runs).toBe(2);
    expect(await outboxOf(envelope.sagaId)).toEqual([{ type: ProvisionStorage.failed.type, class: 'transient' }]);
  });

  it('answers at once with a transient failure when no transport runs it (a direct call is one, last attempt)', async () => {
    const envelope = command();
    let runs = 0;
    const outcome = await unitOfWork.handleCommand(envelope, async () => {
      runs += 1;
      throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
    });
    expect(outcome.status).toBe('done');
    expect(runs).toBe(1);
    expect(await outboxOf(envelope.sagaId)).toEqual([{ type: ProvisionStorage.failed.type, class: 'transient' }]);
  });

  it('waits while the database cannot be reached at all, mid-transaction, and answers with its success once it can', async () => {
    const envelope = command();
    let runs = 0;
    let inTransaction!: () => void;
    const entered = new Promise<void>((resolve) => (inTransaction = resolve));
    const handled = unitOfWork.handleCommand(envelope, async (tx) => {
      runs += 1;
      if (runs === 1) {
        inTransaction();
        await tx.manager.query('SELECT pg_sleep(30)');
      }
      tx.reply(ProvisionStorage.succeeded, { siteId: envelope.sagaId, path: `/srv/${envelope.sagaId}` });
    });
    await entered;
    // The link dies mid-transaction and the server stays out of reach for a while:
    // every retry in that time is refused.
    await proxy.refuse();
    const refusedSince = Date.now();
    await waitFor(() => Date.now() - refusedSince > 3_000, { within: '10s', what: 'three seconds of outage' });
    expect(runs).toBe(1);
    await proxy.accept();

    await expect(handled).resolves.toMatchObject({ status: 'done' });
    expect(runs).toBe(2);
    expect(await outboxOf(envelope.sagaId)).toEqual([{ type: ProvisionStorage.succeeded.type, class: null }]);
    expect(await inboxCount(envelope.id)).toBe(1);
  });
});

describe('UnitOfWork.runBatch: the handlers of a fetched batch in one transaction', () => {
  /** A handler as a service writes it: its own run, an effect row and a reply. */
  const handlerFor = (envelope: Envelope, fail = false) => async (): Promise<void> => {
    const outcome = await unitOfWork.run(envelope, async (tx) => {
      await tx.manager.query(`INSERT INTO effects (message_id) VALUES ($1)`, [envelope.id]);
      if (fail) throw new Error('this handler fails');
      tx.reply(ProvisionStorage.succeeded, { siteId: envelope.sagaId, path: `/srv/${envelope.sagaId}` });
    });
    handled.push([envelope.id, outcome.status]);
  };
  const handled: [string, string][] = [];
  const effects = async (ids: readonly string[]): Promise<number> =>
    Number((await dataSource.query(`SELECT count(*) AS n FROM effects WHERE message_id = ANY($1)`, [ids]))[0].n);

  beforeAll(async () => {
    await dataSource.query(`CREATE TABLE IF NOT EXISTS effects (message_id text NOT NULL)`);
  });

  it('commits every effect, inbox row and reply of the batch once, and each run resolves after the commit', async () => {
    const batch = [command(), command(), command()];
    handled.length = 0;
    const together = await unitOfWork.runBatch(batch, (index) => handlerFor(batch[index]!)());
    expect(together).toBe(true);
    expect(handled).toEqual(batch.map((envelope) => [envelope.id, 'done']));
    expect(await effects(batch.map((envelope) => envelope.id))).toBe(3);
    for (const envelope of batch) {
      expect(await inboxCount(envelope.id)).toBe(1);
      expect(await outboxOf(envelope.sagaId)).toEqual([{ type: 'StorageProvisioned', class: null }]);
    }
  });

  it('commits nothing when one handler fails, so that the messages can be handled again one by one', async () => {
    const batch = [command(), command(), command()];
    handled.length = 0;
    const together = await unitOfWork.runBatch(batch, (index) => handlerFor(batch[index]!, index === 1)());
    expect(together).toBe(false);
    expect(await effects(batch.map((envelope) => envelope.id))).toBe(0);
    for (const envelope of batch) {
      expect(await inboxCount(envelope.id)).toBe(0);
      expect(await outboxOf(envelope.sagaId)).toEqual([]);
    }
    // Handled again alone (what the transport does next), the good ones commit and the bad one fails alone.
    await handlerFor(batch[0]!)();
    await expect(handlerFor(batch[1]!, true)()).rejects.toThrow('this handler fails');
    await handlerFor(batch[2]!)();
    expect(await effects(batch.map((envelope) => envelope.id))).toBe(2);
  });

  it('gives a message that is twice in a batch, or was handled before, no second effect', async () => {
    const before = command();
    await handlerFor(before)();
    const fresh = command();
    const batch = [before, fresh, fresh];
    handled.length = 0;
    expect(await unitOfWork.runBatch(batch, (index) => handlerFor(batch[index]!)())).toBe(true);
    // A duplicate's run answers at once, a done one after the commit: compare without order.
    expect([...handled].sort()).toEqual(
      [
        [before.id, 'duplicate'],
        [fresh.id, 'done'],
        [fresh.id, 'duplicate'],
      ].sort(),
    );
    expect(await effects([before.id])).toBe(1);
    expect(await effects([fresh.id])).toBe(1);
  });
});
