import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { pendingStep, SAGA_STATUSES, type SagaState, type SagaStatus } from '../saga-state';
import { scratchDatabase } from '../testing/scratch-database';
import { foldSagaStatusCounts, sagaStatusCounts } from './saga-queries';
import { SagaStore } from './saga-store';

/*
 * The counts by type and status the engine keeps as sagas change (migration
 * 1764770000000), against real Postgres: after any mix of inserts, status changes and
 * deletes, from concurrent sessions, with folds in between, they equal a GROUP BY over
 * saga_instances; and the migration counts what was there before it.
 */
jest.setTimeout(60_000);

const sagaOf = (type: string, status: SagaStatus): SagaState<{ n: number }> => {
  const now = new Date();
  return {
    id: randomUUID(),
    type,
    status,
    version: 1,
    definitionVersion: 1,
    waitingFor: null,
    data: { n: 1 },
    failure: null,
    correlationId: randomUUID(),
    searchKey: null,
    createdAt: now,
    updatedAt: now,
    steps: [pendingStep('OnlyStep', 0)],
  };
};

describe('the saga counts by type and status', () => {
  let database: Awaited<ReturnType<typeof scratchDatabase>>;
  let dataSource: DataSource;
  const store = new SagaStore();

  const counted = async (): Promise<string[]> =>
    ((await dataSource.query(`SELECT type, status, count(*)::int AS count FROM saga_instances GROUP BY type, status ORDER BY type, status`)) as { type: string; status: string; count: number }[]).map(
      (row) => `${row.type} ${row.status} ${row.count}`,
    );
  const kept = async (): Promise<string[]> => (await sagaStatusCounts(dataSource)).map((row) => `${row.type} ${row.status} ${row.count}`);
  const deltas = async (): Promise<number> => ((await dataSource.query(`SELECT count(*)::int AS n FROM saga_status_deltas`)) as { n: number }[])[0]!.n;

  beforeAll(async () => {
    database = await scratchDatabase();
    dataSource = database.dataSource;
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('follows inserts, status changes and deletes, and reading folds the deltas it read', async () => {
    expect(await kept()).toEqual([]);
    const sagas = [sagaOf('OpenMailbox', 'RUNNING'), sagaOf('OpenMailbox', 'RUNNING'), sagaOf('CloseMailbox', 'RUNNING')];
    for (const saga of sagas) await store.insert(dataSource.manager, saga, []);
    expect(await kept()).toEqual(['CloseMailbox RUNNING 1', 'OpenMailbox RUNNING 2']);
    // Folded by the read: nothing left to add up next time.
    expect(await deltas()).toBe(0);

    await dataSource.query(`UPDATE saga_instances SET status = 'COMPLETED' WHERE id = $1`, [sagas[0]!.id]);
    // A save that keeps the status adds nothing.
    await dataSource.query(`UPDATE saga_instances SET version = version + 1, status = status WHERE id = $1`, [sagas[1]!.id]);
    expect(await deltas()).toBe(2);
    await dataSource.query(`DELETE FROM saga_instances WHERE id = $1`, [sagas[2]!.id]);
    expect(await kept()).toEqual(['OpenMailbox COMPLETED 1', 'OpenMailbox RUNNING 1']);
    expect(await kept()).toEqual(await counted());
    expect(await deltas()).toBe(0);
  });

  it('stays exact under concurrent writers and folds', async () => {
    const types = ['OpenMailbox', 'CloseMailbox', 'MoveMailbox'];
    const writer = async (seed: number): Promise<void> => {
      for (let i = 0; i < 40; i += 1) {
        const saga = sagaOf(types[(seed + i) % types.length]!, 'RUNNING');
        await dataSource.transaction(async (manager) => {
          await store.insert(manager, saga, []);
          if (i % 3 === 0) await manager.query(`UPDATE saga_instances SET status = $2 WHERE id = $1`, [saga.id, SAGA_STATUSES[(seed + i) % SAGA_STATUSES.length]]);
        });
        if (i % 5 === 0) await dataSource.query(`UPDATE saga_instances SET status = 'FAILED' WHERE id = $1`, [saga.id]);
        if (i % 7 === 0) await dataSource.query(`DELETE FROM saga_instances WHERE id = $1`, [saga.id]);
        // A transaction that rolls back counts nothing.
        if (i % 11 === 0) {
          await dataSource
            .transaction(async (manager) => {
              await store.insert(manager, sagaOf('RolledBack', 'RUNNING'), []);
              throw new Error('rolled back');
            })
            .catch(() => undefined);
        }
      }
    };
    const folder = async (): Promise<void> => {
      for (let i = 0; i < 30; i += 1) {
        await foldSagaStatusCounts(dataSource, 7);
        await sagaStatusCounts(dataSource);
      }
    };
    await Promise.all([writer(0), writer(1), writer(2), folder(), folder()]);
    expect(await kept()).toEqual(await counted());
    expect(await deltas()).toBe(0);
    expect(await foldSagaStatusCounts(dataSource)).toBe(0);
  });

  it('the migration counts the sagas that were there before it', async () => {
    const before = await counted();
    expect(before.length).toBeGreaterThan(0);
    // Undone (triggers and tables gone), sagas written meanwhile, then run again.
    const [last] = (await dataSource.query(`SELECT name FROM migrations ORDER BY id DESC LIMIT 1`)) as { name: string }[];
    expect(last?.name).toBe('SagaStatusCounts1764770000000');
    await dataSource.undoLastMigration();
    await store.insert(dataSource.manager, sagaOf('OpenMailbox', 'COMPENSATED'), []);
    await dataSource.runMigrations();
    expect(await kept()).toEqual(await counted());
    expect(await counted()).not.toEqual(before);
  });
});
