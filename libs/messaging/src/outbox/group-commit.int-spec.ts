import { randomUUID } from 'node:crypto';
import { type Envelope, ProvisionStorage, SITE_CATALOGUE } from '@sitesaga/contracts';
import pino from 'pino';
import { DataSource } from 'typeorm';
import { freshDatabase } from '../../../../test/support/fresh-database';
import { CreateMessagingTables1732400000000 } from '../persistence/1732400000000-create-messaging-tables';
import type { Preload } from './deferred-writes';
import { UnitOfWork } from './unit-of-work';

/**
 * Group commit: units of work sent whole in one round trip (what the orchestrator's are)
 * that reach their commit while another is in flight go together, as one transaction. On a
 * real Postgres: rows committed together share their xmin (the id of the transaction that
 * wrote them), so the test counts transactions by counting distinct xmins.
 */
jest.setTimeout(60_000);
const logger = pino({ level: 'silent' });

let database: Awaited<ReturnType<typeof freshDatabase>>;
let dataSource: DataSource;
let unitOfWork: UnitOfWork;

/** Nothing to read: every unit of work goes in one round trip, BEGIN to COMMIT. */
const remembersEverything: Preload = { sql: () => null, accept: () => undefined, recall: () => true };

const command = (): Envelope => {
  const sagaId = randomUUID();
  return ProvisionStorage.create({ siteId: sagaId }, { sagaId, correlationId: sagaId, causationId: null });
};

/** A handler as the orchestrator writes one: a deferred write (a row of its own) and a reply. */
const handle = (envelope: Envelope, failing = false) =>
  unitOfWork.run(envelope, async (tx) => {
    tx.defer({ sql: failing ? `INSERT INTO effects (message_id) VALUES ($1::int)` : `INSERT INTO effects (message_id) VALUES ($1)`, params: [envelope.id] });
    tx.reply(ProvisionStorage.succeeded, { siteId: envelope.sagaId, path: `/srv/${envelope.sagaId}` });
  });

/** Per message: its inbox row's, effect row's and outbox row's transaction ids (null: no row). */
async function writersOf(envelopes: readonly Envelope[]): Promise<{ inbox: string | null; effect: string | null; outbox: string | null }[]> {
  const ids = envelopes.map((envelope) => envelope.id);
  const keys = envelopes.map((envelope) => envelope.sagaId);
  const inbox = new Map<string, string>(
    ((await dataSource.query(`SELECT message_id, xmin::text AS x FROM inbox_messages WHERE message_id = ANY($1)`, [ids])) as { message_id: string; x: string }[]).map((row) => [row.message_id, row.x]),
  );
  const effect = new Map<string, string>(
    ((await dataSource.query(`SELECT message_id, xmin::text AS x FROM effects WHERE message_id = ANY($1)`, [ids])) as { message_id: string; x: string }[]).map((row) => [row.message_id, row.x]),
  );
  const outbox = new Map<string, string>(
    ((await dataSource.query(`SELECT message_key, xmin::text AS x FROM outbox_messages WHERE message_key = ANY($1)`, [keys])) as { message_key: string; x: string }[]).map((row) => [
      row.message_key,
      row.x,
    ]),
  );
  return envelopes.map((envelope) => ({ inbox: inbox.get(envelope.id) ?? null, effect: effect.get(envelope.id) ?? null, outbox: outbox.get(envelope.sagaId) ?? null }));
}

beforeAll(async () => {
  database = await freshDatabase('group_commit_it');
  dataSource = new DataSource({
    type: 'postgres',
    url: database.url,
    migrations: [CreateMessagingTables1732400000000],
    logging: false,
    extra: { max: 16 },
  });
  await dataSource.initialize();
  await dataSource.runMigrations();
  await dataSource.query(`CREATE TABLE effects (message_id text PRIMARY KEY)`);
  unitOfWork = new UnitOfWork(dataSource, {
    consumer: 'group-commit-it',
    catalogue: SITE_CATALOGUE,
    logger,
    preload: remembersEverything,
    backoff: { initialMs: 20, factor: 2, maxMs: 200, jitter: 0 },
  });
});

afterAll(async () => {
  await dataSource?.destroy();
  await database?.drop();
});

it('commits units of work that reach their commit together in fewer transactions, each with all of its rows', async () => {
  const messages = Array.from({ length: 12 }, command);
  const outcomes = await Promise.all(messages.map((envelope) => handle(envelope)));
  expect(outcomes.map((outcome) => outcome.status)).toEqual(messages.map(() => 'done'));

  const writers = await writersOf(messages);
  for (const writer of writers) {
    // Everything one message caused, in one transaction: inbox row, effect, reply.
    expect(writer.inbox).not.toBeNull();
    expect(writer.effect).toBe(writer.inbox);
    expect(writer.outbox).toBe(writer.inbox);
  }
  const transactions = new Set(writers.map((writer) => writer.inbox)).size;
  expect(transactions).toBeLessThan(messages.length);
});

it('commits the others when one member of a group fails, and that one fails alone, with its own error', async () => {
  const messages = Array.from({ length: 8 }, command);
  const failing = 5;
  const outcomes = await Promise.allSettled(messages.map((envelope, index) => handle(envelope, index === failing)));

  expect(outcomes.map((outcome) => outcome.status)).toEqual(messages.map((_, index) => (index === failing ? 'rejected' : 'fulfilled')));
  expect(String((outcomes[failing] as PromiseRejectedResult).reason)).toMatch(/invalid input syntax for type integer/);
  const writers = await writersOf(messages);
  expect(writers[failing]).toEqual({ inbox: null, effect: null, outbox: null });
  for (const [index, writer] of writers.entries()) {
    if (index === failing) continue;
    expect(writer.inbox).not.toBeNull();
    expect(writer.effect).toBe(writer.inbox);
    expect(writer.outbox).toBe(writer.inbox);
  }
});

it('gives a message handled before no second effect when it arrives again among others', async () => {
  const before = command();
  await handle(before);
  const [original] = await writersOf([before]);

  const messages = [command(), command(), before, command(), command()];
  const outcomes = await Promise.all(messages.map((envelope) => handle(envelope)));
  expect(outcomes.map((outcome) => outcome.status)).toEqual(['done', 'done', 'duplicate', 'done', 'done']);
  const writers = await writersOf(messages);
  expect(writers[2]).toEqual(original); // untouched: the same rows, written by the first transaction
  expect(Number((await dataSource.query(`SELECT count(*) AS n FROM outbox_messages WHERE message_key = $1`, [before.sagaId]))[0].n)).toBe(1);
  for (const writer of writers) expect(writer.outbox).toBe(writer.inbox);
});
