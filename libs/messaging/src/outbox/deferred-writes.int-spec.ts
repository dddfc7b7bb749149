import { randomUUID } from 'node:crypto';
import { type Envelope, ProvisionStorage, SITE_CATALOGUE } from '@sitesaga/contracts';
import pino from 'pino';
import { DataSource } from 'typeorm';
import { freshDatabase } from '../../../../test/support/fresh-database';
import { CreateMessagingTables1732400000000 } from '../persistence/1732400000000-create-messaging-tables';
import { classifyFailure } from '../retry/failure-classification';
import type { Preload } from './deferred-writes';
import { UnitOfWork } from './unit-of-work';

/**
 * Deferred writes and the preload against a real Postgres: what a handler defers commits
 * with its unit of work, in order, or not at all; what the preload reads reaches every
 * handler of the transaction; a write that fails its check fails the commit, explained.
 */
jest.setTimeout(60_000);
const logger = pino({ level: 'silent' });

let database: Awaited<ReturnType<typeof freshDatabase>>;
let dataSource: DataSource;

const command = (): Envelope => {
  const sagaId = randomUUID();
  return ProvisionStorage.create({ siteId: sagaId }, { sagaId, correlationId: sagaId, causationId: null });
};

/** Reads `notes` rows whose key is a cause's saga id, into `shared` under `note:<key>`. */
const notesPreload: Preload = {
  sql: (causes) => `SELECT key, body FROM notes WHERE key IN (${causes.map((cause) => `'${cause.sagaId}'`).join(', ')})`,
  accept: (rows, _causes, shared) => {
    for (const row of rows) shared.set(`note:${String(row.key)}`, row.body);
  },
};

const unitOfWork = (preload?: Preload) => new UnitOfWork(dataSource, { consumer: 'deferred-it', catalogue: SITE_CATALOGUE, logger, backoff: { initialMs: 10, factor: 2, maxMs: 50, jitter: 0 }, preload });

const notes = async (key: string): Promise<string[]> =>
  ((await dataSource.query(`SELECT body FROM notes WHERE key = $1 ORDER BY id`, [key])) as { body: string }[]).map((row) => row.body);

beforeAll(async () => {
  database = await freshDatabase('deferred_it');
  dataSource = new DataSource({ type: 'postgres', url: database.url, migrations: [CreateMessagingTables1732400000000], logging: false, extra: { max: 3 } });
  await dataSource.initialize();
  await dataSource.runMigrations();
  await dataSource.query(`CREATE TABLE notes (id bigserial PRIMARY KEY, key text NOT NULL, body text NOT NULL CHECK (body <> 'refused'))`);
});

afterAll(async () => {
  await dataSource?.destroy();
  await database?.drop();
});

it('runs deferred writes with the commit, after the handler’s own statements, in the order they were deferred', async () => {
  const cause = command();
  const outcome = await unitOfWork().run(cause, async (tx) => {
    tx.defer({ sql: 'INSERT INTO notes (key, body) VALUES ($1, $2)', params: [cause.sagaId, "second, with a quote ' and $1"] });
    await tx.manager.query('INSERT INTO notes (key, body) VALUES ($1, $2)', [cause.sagaId, 'first']);
    tx.defer({ sql: 'INSERT INTO notes (key, body) VALUES ($1, $2)', params: [cause.sagaId, 'third'] });
    // Not written yet: the handler must not read what it deferred.
    return notes(cause.sagaId);
  });
  expect(outcome.status).toBe('done');
  expect(outcome.status === 'done' && outcome.result).toEqual([]);
  expect(await notes(cause.sagaId)).toEqual(['first', "second, with a quote ' and $1", 'third']);
});

it('commits nothing when a deferred write fails, and throws what the write says the failure means', async () => {
  const cause = command();
  const explained = new Error('the note was refused');
  const attempt = unitOfWork().run(cause, async (tx) => {
    await tx.manager.query('INSERT INTO notes (key, body) VALUES ($1, $2)', [cause.sagaId, 'kept only if all commit']);
    tx.reply(ProvisionStorage.succeeded, { siteId: cause.sagaId, path: '/x' });
    tx.defer({ sql: 'INSERT INTO notes (key, body) VALUES ($1, $2)', params: [cause.sagaId, 'refused'], explainFailure: (error) => ((error as { code?: string }).code === '23514' ? explained : undefined) });
  });
  await expect(attempt).rejects.toBe(explained);
  expect(await notes(cause.sagaId)).toEqual([]);
  expect(await dataSource.query(`SELECT 1 FROM inbox_messages WHERE message_id = $1`, [cause.id])).toEqual([]);
  expect(await dataSource.query(`SELECT 1 FROM outbox_messages WHERE message_key = $1`, [cause.sagaId])).toEqual([]);
});

it('a NUL byte in a deferred value is refused input, not a transient failure', async () => {
  const cause = command();
  const attempt = unitOfWork().run(cause, async (tx) => tx.defer({ sql: 'INSERT INTO notes (key, body) VALUES ($1, $2)', params: [cause.sagaId, 'a\u0000b'] }));
  const error = await attempt.then(() => null, (failure: unknown) => failure);
  expect(classifyFailure(error)).toBe('unreadable');
});

it('hands what the preload read with BEGIN to the handler of one message and to every handler of a batch, in one shared map', async () => {
  const [one, two, three] = [command(), command(), command()];
  await dataSource.query(`INSERT INTO notes (key, body) VALUES ($1, 'note of one'), ($2, 'note of two')`, [one.sagaId, two.sagaId]);

  const single = await unitOfWork(notesPreload).run(one, async (tx) => tx.shared.get(`note:${one.sagaId}`));
  expect(single.status === 'done' && single.result).toBe('note of one');

  const seen: unknown[][] = [];
  const maps = new Set<Map<string, unknown>>();
  const batching = unitOfWork(notesPreload);
  const causes = [two, three];
  const committed = await batching.runBatch(causes, async (index) => {
    await batching.run(causes[index]!, async (tx) => {
      maps.add(tx.shared);
      seen.push([tx.shared.get(`note:${two.sagaId}`), tx.shared.get(`note:${three.sagaId}`)]);
      tx.shared.set(`handled:${index}`, true);
    });
  });
  expect(committed).toBe(true);
  expect(maps.size).toBe(1);
  expect(seen).toEqual([
    ['note of two', undefined],
    ['note of two', undefined],
  ]);
  expect([...maps][0]!.get('handled:0')).toBe(true);
});
