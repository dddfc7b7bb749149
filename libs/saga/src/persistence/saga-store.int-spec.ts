import type { DataSource } from 'typeorm';
import { SagaAlreadyStarted, SagaConcurrencyConflict } from '../errors';
import { type HistoryEntry, pendingStep, type SagaState, type StepState } from '../saga-state';
import { scratchDatabase } from '../testing/scratch-database';
import { SagaStore } from './saga-store';

const at = (iso: string) => new Date(iso);
const T0 = at('2024-11-23T10:00:00.123Z');

const step = (name: string, position: number, overrides: Partial<StepState> = {}): StepState => ({ ...pendingStep(name, position), ...overrides });

const newSaga = (id: string): SagaState<{ siteId: string; name: string }> => ({
  id,
  type: 'TestCreateSite',
  status: 'RUNNING',
  version: 1,
  definitionVersion: 1,
  waitingFor: null,
  data: { siteId: id, name: 'my-blog' },
  failure: null,
  correlationId: 'correlation-1',
  searchKey: 'my-blog',
  createdAt: T0,
  updatedAt: T0,
  steps: [
    step('ReserveSite', 0, { state: 'RUNNING', attempts: 1, deadlineAt: at('2024-11-23T10:00:30.123Z'), deadlineKind: 'reply', lastMessageId: 'm-1', startedAt: T0 }),
    step('ProvisionStorage', 1),
    step('ProvisionDatabase', 1),
  ],
});

const history = (...entries: [HistoryEntry['direction'], string][]): HistoryEntry[] =>
  entries.map(([direction, type], index) => ({ direction, topic: 'sites.commands', messageId: `m-${type}-${index}`, type, step: null, at: T0 }));

/** The store returns steps by (position, name); decide puts them back in definition order. */
const inStoreOrder = <S extends SagaState<unknown>>(saga: S): S => ({
  ...saga,
  steps: [...saga.steps].sort((left, right) => left.position - right.position || left.name.localeCompare(right.name)),
});

let sequence = 0;
const sagaId = () => `aaaaaaaa-0000-4000-8000-${String(++sequence).padStart(12, '0')}`;

describe('SagaStore against Postgres', () => {
  let database: Awaited<ReturnType<typeof scratchDatabase>>;
  let dataSource: DataSource;
  const store = new SagaStore();

  beforeAll(async () => {
    database = await scratchDatabase();
    dataSource = database.dataSource;
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('creates tables the entities agree with', async () => {
    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((query) => query.query)).toEqual([]);
  });

  it('loads a saga exactly as it was inserted, steps and timestamps included', async () => {
    const saga = newSaga(sagaId());
    await store.insert(dataSource.manager, saga, history(['in', 'CreateSite'], ['out', 'ReserveSite']));

    expect(await store.load(dataSource.manager, saga.id)).toEqual(inStoreOrder(saga));
    expect((await store.history(dataSource.manager, saga.id)).map((entry) => `${entry.direction} ${entry.type}`)).toEqual(['in CreateSite', 'out ReserveSite']);
  });

  it('returns null for a saga that does not exist or an id that is not a uuid', async () => {
    expect(await store.load(dataSource.manager, sagaId())).toBeNull();
    expect(await store.load(dataSource.manager, 'not-a-uuid')).toBeNull();
  });

  it('refuses to insert a saga id twice', async () => {
    const saga = newSaga(sagaId());
    await store.insert(dataSource.manager, saga);
    await expect(store.insert(dataSource.manager, saga)).rejects.toThrow(SagaAlreadyStarted);
  });

  it('saves the next state at the next version with its changed steps and history in order', async () => {
    const saga = newSaga(sagaId());
    await store.insert(dataSource.manager, saga, history(['in', 'CreateSite']));
    const later = at('2024-11-23T10:00:05.000Z');
    const next: typeof saga = {
      ...saga,
      data: { ...saga.data, name: 'my-blog' },
      updatedAt: later,
      steps: [
        step('ReserveSite', 0, { state: 'SUCCEEDED', attempts: 1, startedAt: T0, finishedAt: later, lastMessageId: 'm-1' }),
        step('ProvisionStorage', 1, { state: 'RUNNING', attempts: 1, startedAt: later, deadlineAt: at('2024-11-23T10:00:35.000Z'), deadlineKind: 'reply' }),
        step('ProvisionDatabase', 1, { state: 'RUNNING', attempts: 1, startedAt: later, deadlineAt: at('2024-11-23T10:01:05.000Z'), deadlineKind: 'reply' }),
      ],
    };

    const saved = await store.save(dataSource.manager, saga, next, history(['in', 'SiteReserved'], ['out', 'ProvisionStorage'], ['out', 'ProvisionDatabase']));

    expect(saved.version).toBe(2);
    expect(await store.load(dataSource.manager, saga.id)).toEqual(inStoreOrder(saved));
    expect((await store.history(dataSource.manager, saga.id)).map((entry) => entry.type)).toEqual(['CreateSite', 'SiteReserved', 'ProvisionStorage', 'ProvisionDatabase']);
  });

  it('stores a failure and clears it back to SQL NULL', async () => {
    const saga = newSaga(sagaId());
    await store.insert(dataSource.manager, saga);
    const failed = await store.save(dataSource.manager, saga, {
      ...saga,
      status: 'COMPENSATING',
      failure: { failedStep: 'ReserveSite', reason: 'name taken', cause: 'business', stuck: [] },
    });
    expect((await store.load(dataSource.manager, saga.id))?.failure).toEqual(failed.failure);

    await store.save(dataSource.manager, failed, { ...failed, failure: null });
    const [row] = (await dataSource.query(`SELECT failure IS NULL AS cleared FROM saga_instances WHERE id = $1`, [saga.id])) as { cleared: boolean }[];
    expect(row?.cleared).toBe(true);
  });

  it('refuses a save from a stale version and writes nothing of it', async () => {
    const saga = newSaga(sagaId());
    await store.insert(dataSource.manager, saga);
    await store.save(dataSource.manager, saga, { ...saga, status: 'COMPENSATING' });

    const stale = store.save(dataSource.manager, saga, { ...saga, status: 'COMPLETED', steps: saga.steps.map((row) => ({ ...row, state: 'SUCCEEDED' as const })) }, history(['in', 'Late']));

    await expect(stale).rejects.toThrow(SagaConcurrencyConflict);
    await expect(stale).rejects.toMatchObject({ retriable: true });
    const current = await store.load(dataSource.manager, saga.id);
    expect(current).toMatchObject({ status: 'COMPENSATING', version: 2 });
    expect(current?.steps.map((row) => row.state)).toEqual(['RUNNING', 'PENDING', 'PENDING']); // nothing of the stale save
    expect(await store.history(dataSource.manager, saga.id)).toEqual([]);
  });

  it('lets only one of two concurrent transactions advance a saga', async () => {
    const saga = newSaga(sagaId());
    await store.insert(dataSource.manager, saga);
    // A barrier, not a sleep: each saves only once both have read version 1.
    let loadedCount = 0;
    let bothLoaded!: () => void;
    const barrier = new Promise<void>((resolve) => (bothLoaded = resolve));
    const advance = (status: SagaState['status']) =>
      dataSource.transaction(async (manager) => {
        const loaded = await store.load(manager, saga.id);
        if (!loaded) throw new Error('vanished');
        if (++loadedCount === 2) bothLoaded();
        await barrier;
        return store.save(manager, loaded, { ...loaded, status });
      });

    const outcomes = await Promise.allSettled([advance('COMPLETED'), advance('COMPENSATING')]);

    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    const rejected = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    expect(rejected?.reason).toBeInstanceOf(SagaConcurrencyConflict);
    expect((await store.load(dataSource.manager, saga.id))?.version).toBe(2);
  });

  it('lists the steps whose deadline passed, earliest first, up to the limit', async () => {
    await dataSource.query(`UPDATE saga_steps SET deadline_at = NULL, deadline_kind = NULL`);
    const first = newSaga(sagaId());
    const second = newSaga(sagaId());
    const waiting = (saga: typeof first, deadlines: Record<string, string | null>) => ({
      ...saga,
      steps: saga.steps.map((row) => ({ ...row, deadlineAt: deadlines[row.name] ? at(deadlines[row.name] as string) : null, deadlineKind: deadlines[row.name] ? ('reply' as const) : null })),
    });
    await store.insert(dataSource.manager, waiting(first, { ReserveSite: '2024-11-23T10:00:10Z', ProvisionStorage: '2024-11-23T10:05:00Z' }));
    await store.insert(dataSource.manager, waiting(second, { ProvisionDatabase: '2024-11-23T10:00:05Z' }));

    const now = at('2024-11-23T10:01:00Z');
    expect(await store.dueDeadlines(dataSource.manager, now, 10)).toEqual([
      { sagaId: second.id, step: 'ProvisionDatabase', deadlineAt: at('2024-11-23T10:00:05Z'), dueAt: at('2024-11-23T10:00:05Z') },
      { sagaId: first.id, step: 'ReserveSite', deadlineAt: at('2024-11-23T10:00:10Z'), dueAt: at('2024-11-23T10:00:10Z') },
    ]);
    expect(await store.dueDeadlines(dataSource.manager, now, 1)).toHaveLength(1);
  });
});
