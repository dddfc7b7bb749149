import { inboxRetention, MESSAGING_MIGRATIONS, RetentionPruner } from '@sitesaga/messaging';
import { createLogger } from '@sitesaga/service';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { freshDatabase } from '../../../../test/support/fresh-database';
import { SITE_SAGA_MIGRATIONS } from '../persistence/site-saga-migrations';
import { adminRecordsRetention, sagaHistoryRetention } from './saga-history-retention';

jest.setTimeout(60_000);

let database: Awaited<ReturnType<typeof freshDatabase>>;
let dataSource: DataSource;
const logger = createLogger('site-saga', { level: 'silent', destination: new Writable({ write: (_chunk, _encoding, done) => done() }) });
const DAY = 24 * 3_600_000;

beforeAll(async () => {
  database = await freshDatabase('retention_it');
  dataSource = new DataSource({ type: 'postgres', url: database.url, migrations: [...MESSAGING_MIGRATIONS, ...SITE_SAGA_MIGRATIONS], logging: false });
  await dataSource.initialize();
  await dataSource.runMigrations();
});

afterAll(async () => {
  await dataSource?.destroy();
  await database?.drop();
});

const saga = async (status: string, historyAgesInDays: number[]): Promise<string> => {
  const id = randomUUID();
  await dataSource.query(
    `INSERT INTO saga_instances (id, type, status, version, data, correlation_id, created_at, updated_at) VALUES ($1, 'CreateSite', $2, 1, '{}', $3, now(), now())`,
    [id, status, id],
  );
  for (const days of historyAgesInDays) {
    await dataSource.query(`INSERT INTO saga_history (saga_id, direction, type, at) VALUES ($1, 'in', 'StepDone', now() - make_interval(days => $2))`, [id, days]);
  }
  return id;
};

const historyOf = async (id: string): Promise<number> => (await dataSource.query(`SELECT count(*)::int AS n FROM saga_history WHERE saga_id = $1`, [id]))[0].n;

describe('retention', () => {
  it('prunes old inbox rows and the old history of ended sagas in small batches, keeps what is young, and counts it', async () => {
    await dataSource.query(
      `INSERT INTO inbox_messages (consumer, message_id, type, processed_at)
       SELECT 'site-saga', 'old-' || n, 'X', now() - interval '8 days' FROM generate_series(1, 7) n
       UNION ALL SELECT 'site-saga', 'young-' || n, 'X', now() - interval '6 days' FROM generate_series(1, 4) n`,
    );
    const ended = await saga('COMPLETED', [40, 35, 31, 29, 1]);
    const failed = await saga('FAILED', [45]);
    const running = await saga('RUNNING', [60, 50]);

    const registry = new Registry();
    const pruner = new RetentionPruner({ dataSource, registry, logger, batchSize: 2, intervalMs: 0 });
    pruner.add(inboxRetention(7 * DAY));
    pruner.add(sagaHistoryRetention(30 * DAY));
    expect(await pruner.runOnce()).toEqual({ inbox_messages: 7, saga_history: 4 });

    const inbox: { message_id: string }[] = await dataSource.query(`SELECT message_id FROM inbox_messages ORDER BY message_id`);
    expect(inbox.map((row) => row.message_id)).toEqual(['young-1', 'young-2', 'young-3', 'young-4']);
    expect([await historyOf(ended), await historyOf(failed), await historyOf(running)]).toEqual([2, 0, 2]);
    const metrics = await registry.metrics();
    expect(metrics).toContain('retention_pruned_rows_total{table="inbox_messages"} 7');
    expect(metrics).toContain('retention_pruned_rows_total{table="saga_history"} 4');
    // Nothing left to do: a second round deletes nothing.
    expect(await pruner.runOnce()).toEqual({ inbox_messages: 0, saga_history: 0 });
  });

  it("prunes operators' old records (audit log, orphan repairs, finished bulk operations with their items), never a running bulk", async () => {
    const bulk = async (status: string, ageInDays: number): Promise<string> => {
      const id = randomUUID();
      await dataSource.query(
        `INSERT INTO admin_bulk_operations (id, action, status, operator, filter, filter_key, rate_per_second, selected, created_at, updated_at, finished_at)
         VALUES ($1::uuid, 'retry', $2::text, 'alice', '{}', $1::text, 10, 1, now() - make_interval(days => $3::int), now(), CASE WHEN $2::text = 'running' THEN NULL ELSE now() - make_interval(days => $3::int) END)`,
        [id, status, ageInDays],
      );
      await dataSource.query(`INSERT INTO admin_bulk_operation_items (bulk_id, position, saga_id) VALUES ($1, 0, $2)`, [id, randomUUID()]);
      return id;
    };
    const oldDone = await bulk('completed', 400);
    const oldRunning = await bulk('running', 400);
    const youngDone = await bulk('cancelled', 10);
    await dataSource.query(
      `INSERT INTO admin_audit_log (at, operator, action, outcome, bulk_id)
       SELECT now() - make_interval(days => d), 'alice', 'bulk-retry', 'started', $1 FROM unnest(ARRAY[500, 400, 366, 364, 1]) d`,
      [oldDone],
    );
    await dataSource.query(
      `INSERT INTO orphan_repairs (id, operator, dry_run, requested, commands, skipped, at)
       SELECT gen_random_uuid(), 'alice', true, '[]', '[]', '[]', now() - make_interval(days => d) FROM unnest(ARRAY[400, 30]) d`,
    );

    const pruner = new RetentionPruner({ dataSource, registry: new Registry(), logger, batchSize: 2, intervalMs: 0 });
    for (const target of adminRecordsRetention(365 * DAY)) pruner.add(target);
    expect(await pruner.runOnce()).toEqual({ admin_audit_log: 3, orphan_repairs: 1, admin_bulk_operations: 1 });

    const ages: { days: number }[] = await dataSource.query(`SELECT round(extract(epoch FROM now() - at) / 86400)::int AS days FROM admin_audit_log ORDER BY at`);
    expect(ages.map((row) => row.days)).toEqual([364, 1]);
    expect((await dataSource.query(`SELECT count(*)::int AS n FROM orphan_repairs`))[0].n).toBe(1);
    const bulks: { id: string }[] = await dataSource.query(`SELECT id FROM admin_bulk_operations`);
    expect(bulks.map((row) => row.id).sort()).toEqual([oldRunning, youngDone].sort());
    const items: { bulk_id: string }[] = await dataSource.query(`SELECT bulk_id FROM admin_bulk_operation_items`);
    expect(items.map((row) => row.bulk_id).sort()).toEqual([oldRunning, youngDone].sort());
    // The audit rows that named the pruned bulk operation and are kept lose the reference, not their row.
    expect((await dataSource.query(`SELECT count(*)::int AS n FROM admin_audit_log WHERE bulk_id IS NULL`))[0].n).toBe(2);
  });

  it('has the indexes the pruning and the live stream read by', async () => {
    const indexes: { indexname: string }[] = await dataSource.query(
      `SELECT indexname FROM pg_indexes WHERE indexname IN ('inbox_messages_processed_at_idx', 'saga_history_at_idx', 'saga_instances_updated_at_idx', 'admin_audit_log_at_idx') ORDER BY indexname`,
    );
    expect(indexes.map((row) => row.indexname)).toEqual(['admin_audit_log_at_idx', 'inbox_messages_processed_at_idx', 'saga_history_at_idx', 'saga_instances_updated_at_idx']);
  });
});
