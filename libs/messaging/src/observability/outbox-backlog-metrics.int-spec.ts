import { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { freshDatabase } from '../../../../test/support/fresh-database';
import { MESSAGING_MIGRATIONS } from '../persistence/messaging-migrations';
import { OutboxBacklogMetrics } from './outbox-backlog-metrics';

let database: Awaited<ReturnType<typeof freshDatabase>>;
let dataSource: DataSource;

beforeAll(async () => {
  database = await freshDatabase('outbox_metrics_it');
  dataSource = new DataSource({ type: 'postgres', url: database.url, migrations: MESSAGING_MIGRATIONS, logging: false });
  await dataSource.initialize();
  await dataSource.runMigrations();
});

afterAll(async () => {
  await dataSource?.destroy();
  await database?.drop();
});

const insert = (count: number, sent: boolean, ageSeconds: number) =>
  dataSource.query(
    `INSERT INTO outbox_messages (message_id, topic, message_key, type, value, created_at, sent_at)
     SELECT gen_random_uuid()::text, 'storage.commands', 'k', 'ProvisionStorage', '{}', now() - make_interval(secs => $2), CASE WHEN $3 THEN now() END
       FROM generate_series(1, $1)`,
    [count, ageSeconds, sent],
  );

const valueOf = (text: string, name: string): number | undefined => {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
};

describe('outbox backlog on /metrics', () => {
  it('reports unsent messages and the age of the oldest, 0 when the relay is caught up', async () => {
    const registry = new Registry();
    new OutboxBacklogMetrics(registry, dataSource, { reuseMs: 0 });
    expect(valueOf(await registry.metrics(), 'outbox_unsent_messages')).toBe(0);
    expect(valueOf(await registry.metrics(), 'outbox_oldest_unsent_age_seconds')).toBe(0);

    await insert(5, true, 600);
    await insert(3, false, 30);
    const text = await registry.metrics();
    expect(valueOf(text, 'outbox_unsent_messages')).toBe(3);
    expect(valueOf(text, 'outbox_oldest_unsent_age_seconds')).toBeGreaterThanOrEqual(30);
    expect(valueOf(text, 'outbox_oldest_unsent_age_seconds')).toBeLessThan(60);
  });
});

describe('parked messages on /metrics', () => {
  it('counts parked outbox rows apart from the backlog, and dead letters kept only in the table', async () => {
    await dataSource.query(`DELETE FROM outbox_messages`);
    const registry = new Registry();
    new OutboxBacklogMetrics(registry, dataSource, { reuseMs: 0 });
    await insert(2, false, 5);
    await dataSource.query(
      `UPDATE outbox_messages SET parked_at = now(), parked_reason = 'too large' WHERE position = (SELECT min(position) FROM outbox_messages)`,
    );
    await dataSource.query(
      `INSERT INTO dead_letters (consumer_group, topic, "partition", "offset", error, outcome, parked_reason) VALUES ('g', 't', 0, 1, 'e', 'unreadable', 'MESSAGE_TOO_LARGE')`,
    );
    const text = await registry.metrics();
    expect(valueOf(text, 'outbox_unsent_messages')).toBe(1);
    expect(valueOf(text, 'outbox_parked_messages')).toBe(1);
    expect(valueOf(text, 'dead_letters_parked')).toBe(1);
  });
});
