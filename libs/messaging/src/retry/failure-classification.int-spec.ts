import { ContractViolation } from '@sitesaga/contracts';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { freshDatabase } from '../../../../test/support/fresh-database';
import { waitFor } from '../../../../test/support/wait-for';
import { inboxInsertSql } from '../inbox/inbox';
import { BusinessRejection, classifyFailure, TransientFailure } from './failure-classification';

/**
 * The classification by what retrying can change, against errors a real Postgres raises
 * (the SQLSTATEs are provoked here, not guessed): input Postgres refuses is `unreadable`
 * (DLQ or rejection at once), only a failing line to the server is `transient`.
 */
jest.setTimeout(60_000);

let database: Awaited<ReturnType<typeof freshDatabase>>;
let client: Client;

const connect = async (): Promise<Client> => {
  const next = new Client({ connectionString: database.url });
  next.on('error', () => undefined); // a terminated session reports here too; the query rejects anyway
  await next.connect();
  return next;
};

/** The error a statement fails with (it must fail). */
async function refusal(work: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await work;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected the statement to fail');
}

beforeAll(async () => {
  database = await freshDatabase('classification_it');
  client = await connect();
  await client.query(`CREATE TABLE inbox_messages (consumer text NOT NULL, message_id text NOT NULL, type text NOT NULL, PRIMARY KEY (consumer, message_id))`);
  await client.query(
    `CREATE TABLE things (id serial PRIMARY KEY, email varchar(100), name text CHECK (name ~ '^[a-z]+$'), required text NOT NULL DEFAULT 'x', data jsonb)`,
  );
  await client.query(`CREATE INDEX things_name ON things (name)`);
  await client.query(`CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL)`);
  await client.query(`INSERT INTO counters VALUES (1, 0), (2, 0)`);
});

afterAll(async () => {
  await client?.end().catch(() => undefined);
  await database?.drop();
});

describe('failure classification against real Postgres errors', () => {
  it('classes a NUL byte inside a literal (the inbox insert of a NUL id) as unreadable: 08P01 is the input, not the connection', async () => {
    const error = await refusal(client.query(inboxInsertSql('site-saga', [{ id: 'bad\u0000id', type: 'CreateSite' }])));
    expect(error.code).toBe('08P01');
    expect(classifyFailure(error)).toBe('unreadable');
    // The session survives it: the next statement on the same connection works.
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('classes a NUL byte as a parameter as unreadable (22021)', async () => {
    const error = await refusal(client.query(`INSERT INTO things (name) VALUES ($1)`, ['a\u0000b']));
    expect(error.code).toBe('22021');
    expect(classifyFailure(error)).toBe('unreadable');
  });

  it('classes bytes that are not UTF-8 as unreadable (22021)', async () => {
    const error = await refusal(client.query(`SELECT convert_from($1::bytea, 'UTF8')`, [Buffer.from([0x61, 0xc3, 0x28, 0xff])]));
    expect(error.code).toBe('22021');
    expect(classifyFailure(error)).toBe('unreadable');
  });

  it('classes a value too long for its column as unreadable (22001)', async () => {
    const error = await refusal(client.query(`INSERT INTO things (email) VALUES ($1)`, [`${'o'.repeat(200)}@example.com`]));
    expect(error.code).toBe('22001');
    expect(classifyFailure(error)).toBe('unreadable');
  });

  it('classes NUL and lone surrogates in jsonb as unreadable (22P05, 22P02)', async () => {
    const nul = await refusal(client.query(`INSERT INTO things (data) VALUES ($1::jsonb)`, [JSON.stringify({ name: 'a\u0000b' })]));
    expect(nul.code).toBe('22P05');
    expect(classifyFailure(nul)).toBe('unreadable');
    const surrogate = await refusal(client.query(`INSERT INTO things (data) VALUES ($1::jsonb)`, [JSON.stringify({ name: 'a\ud800b' })]));
    expect(surrogate.code).toBe('22P02');
    expect(classifyFailure(surrogate)).toBe('unreadable');
  });

  it('classes constraint violations caused by the input as unreadable (23514, 23502, 23505)', async () => {
    const check = await refusal(client.query(`INSERT INTO things (name) VALUES ($1)`, ['UPPER']));
    expect(check.code).toBe('23514');
    expect(classifyFailure(check)).toBe('unreadable');
    const notNull = await refusal(client.query(`INSERT INTO things (required) VALUES (NULL)`));
    expect(notNull.code).toBe('23502');
    expect(classifyFailure(notNull)).toBe('unreadable');
    const duplicate = await refusal(client.query(`INSERT INTO counters VALUES (1, 0)`));
    expect(duplicate.code).toBe('23505');
    expect(classifyFailure(duplicate)).toBe('unreadable');
  });

  it('classes an index row too large as unreadable (54000)', async () => {
    const error = await refusal(
      client.query(`INSERT INTO things (name) VALUES ($1)`, [[...randomBytes(20_000)].map((byte) => String.fromCharCode(97 + (byte % 26))).join('')]),
    );
    expect(error.code).toBe('54000');
    expect(classifyFailure(error)).toBe('unreadable');
  });

  it('sees through TypeORM: a QueryFailedError is classed by its driver error', async () => {
    const dataSource = await new DataSource({ type: 'postgres', url: database.url, logging: false }).initialize();
    try {
      const error = await refusal(dataSource.query(`INSERT INTO things (name) VALUES ($1)`, ['a\u0000b']));
      expect(error.name).toBe('QueryFailedError');
      expect(classifyFailure(error)).toBe('unreadable');
    } finally {
      await dataSource.destroy();
    }
  });

  it('classes a session terminated by the server as transient (57P01 and "Connection terminated")', async () => {
    const victim = await connect();
    const pid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const running = refusal(victim.query('SELECT pg_sleep(30)'));
    await client.query('SELECT pg_terminate_backend($1)', [pid]);
    const error = await running;
    expect(['57P01', undefined]).toContain(error.code);
    expect(classifyFailure(error)).toBe('transient');
    const after = await refusal(victim.query('SELECT 1'));
    expect(classifyFailure(after)).toBe('transient');
    await victim.end().catch(() => undefined);
  });

  it('classes a refused connection as transient (ECONNREFUSED)', async () => {
    const nowhere = new Client({ host: '127.0.0.1', port: 1, user: 'postgres', connectionTimeoutMillis: 5000 });
    const error = await refusal(nowhere.connect());
    expect(error.code).toBe('ECONNREFUSED');
    expect(classifyFailure(error)).toBe('transient');
  });

  it('classes a serialization failure and a deadlock as transient (40001, 40P01)', async () => {
    const [a, b] = [await connect(), await connect()];
    try {
      await a.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
      await b.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
      await a.query('SELECT n FROM counters WHERE id = 1');
      await b.query('SELECT n FROM counters WHERE id = 1');
      await a.query('UPDATE counters SET n = n + 1 WHERE id = 1');
      await a.query('COMMIT');
      const serialization = await refusal(b.query('UPDATE counters SET n = n + 1 WHERE id = 1'));
      expect(serialization.code).toBe('40001');
      expect(classifyFailure(serialization)).toBe('transient');
      await b.query('ROLLBACK');

      await a.query('BEGIN');
      await b.query('BEGIN');
      await a.query('UPDATE counters SET n = n + 1 WHERE id = 1');
      await b.query('UPDATE counters SET n = n + 1 WHERE id = 2');
      const first = a.query('UPDATE counters SET n = n + 1 WHERE id = 2').then(
        () => null,
        (error: Error) => error,
      );
      const second = b.query('UPDATE counters SET n = n + 1 WHERE id = 1').then(
        () => null,
        (error: Error) => error,
      );
      const deadlock = ((await first) ?? (await second)) as Error & { code?: string };
      expect(deadlock.code).toBe('40P01');
      expect(classifyFailure(deadlock)).toBe('transient');
      await a.query('ROLLBACK');
      await b.query('ROLLBACK');
    } finally {
      await a.end();
      await b.end();
    }
  });

  it('keeps a catalog race transient: two sessions creating one table at once (23505 on pg_type)', async () => {
    const [a, b] = [await connect(), await connect()];
    try {
      const bPid = (await b.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await a.query('BEGIN');
      await a.query('CREATE TABLE IF NOT EXISTS raced (id int)');
      // b waits on a's uncommitted catalog row, then finds the name taken.
      const racing = refusal(b.query('CREATE TABLE IF NOT EXISTS raced (id int)'));
      await waitFor(async () => (await client.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'`, [bPid])).rowCount === 1, {
        within: '10s',
        what: 'the second CREATE TABLE waiting on the first',
      });
      await a.query('COMMIT');
      const race = (await racing) as Error & { code?: string; constraint?: string };
      expect([race.code, race.constraint]).toEqual(['23505', 'pg_type_typname_nsp_index']);
      expect(classifyFailure(race)).toBe('transient');
      // And the next attempt finds it settled.
      await b.query('CREATE TABLE IF NOT EXISTS raced (id int)');
    } finally {
      await a.end();
      await b.end();
    }
  });

  it('keeps a catalog update race transient: two sessions altering one role at once (XX000 "tuple concurrently updated")', async () => {
    const role = `classification_it_${randomBytes(4).toString('hex')}`;
    await client.query(`CREATE ROLE ${role} NOLOGIN`);
    const [a, b] = [await connect(), await connect()];
    try {
      const bPid = (await b.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await a.query('BEGIN');
      await a.query(`ALTER ROLE ${role} CONNECTION LIMIT 7`);
      const racing = refusal(b.query(`ALTER ROLE ${role} CONNECTION LIMIT 8`));
      await waitFor(async () => (await client.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'`, [bPid])).rowCount === 1, {
        within: '10s',
        what: 'the second ALTER ROLE waiting on the first',
      });
      await a.query('COMMIT');
      const race = await racing;
      expect([race.code, race.message]).toEqual(['XX000', 'tuple concurrently updated']);
      expect(classifyFailure(race)).toBe('transient');
      await b.query(`ALTER ROLE ${role} CONNECTION LIMIT 8`);
    } finally {
      await a.end();
      await b.end();
      await client.query(`DROP ROLE IF EXISTS ${role}`);
    }
  });

  it('classes a syntax error as unexpected, and errors of our own making by their class', () => {
    expect(classifyFailure(Object.assign(new Error('syntax error at or near "x"'), { code: '42601' }))).toBe('unexpected');
    expect(classifyFailure(new BusinessRejection('name taken'))).toBe('business');
    expect(classifyFailure(new TransientFailure('later'))).toBe('transient');
    expect(classifyFailure(new ContractViolation('bad', [{ field: 'id', message: 'bad' }]))).toBe('unreadable');
    expect(classifyFailure(Object.assign(new Error('connection failure'), { code: '08006' }))).toBe('transient');
    expect(classifyFailure(Object.assign(new Error('out of memory'), { code: '53200' }))).toBe('transient');
    // Other internal errors stay unexpected: only the catalog race is known to settle.
    expect(classifyFailure(Object.assign(new Error('could not open file'), { code: 'XX000' }))).toBe('unexpected');
  });
});
