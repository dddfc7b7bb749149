import { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { freshDatabase } from '../../../../test/support/fresh-database';
import { CreateMessagingTables1732400000000 } from '../persistence/1732400000000-create-messaging-tables';
import { OutboxBacklogMetrics } from './outbox-backlog-metrics';

let database: Awaited<ReturnType<typeof freshDatabase>>;
let dataSource: DataSource;

beforeAll(async () => {
  database = await freshDatabase('outbox_metrics_it');
  dataSource = new DataSource({ type: 'postgres', url: database.url, migrations: [CreateMessagingTables1732400000000], logging: false });
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
