import type { DataSource } from 'typeorm';
import { type HistoryEntry, pendingStep, type SagaState, type SagaStatus, type StepState } from '../saga-state';
import { scratchDatabase } from '../testing/scratch-database';
import { decodeSagaCursor, encodeSagaCursor, findSagaWithHistory, listSagas, sagasById, sagasChangedSince, sagaStatistics } from './saga-queries';
import { SagaStore } from './saga-store';

/*
 * The engine's read side on a toy domain of its own (mailboxes, not sites): what an admin
 * or a CLI would read, against real Postgres, written by the engine's own store.
 */
const at = (seconds: number) => new Date(Date.UTC(2025, 0, 1, 12, 0, seconds));

const step = (name: string, position: number, overrides: Partial<StepState> = {}): StepState => ({ ...pendingStep(name, position), ...overrides });

let sequence = 0;
const nextId = () => `bbbbbbbb-0000-4000-8000-${String(++sequence).padStart(12, '0')}`;

interface MailboxData {
  readonly mailboxId: string;
  readonly owner: string;
}

const mailboxSaga = (owner: string, createdAt: Date, status: SagaStatus = 'RUNNING', type = 'OpenMailbox'): SagaState<MailboxData> => {
  const id = nextId();
  const done = status === 'COMPLETED';
  return {
    id,
    type,
    status,
    version: 1,
    definitionVersion: 1,
    waitingFor: null,
    data: { mailboxId: `mbx-${id.slice(-4)}`, owner },
    failure: status === 'FAILED' ? { failedStep: 'CreateInbox', reason: 'quota', cause: 'business', stuck: [] } : null,
    correlationId: `correlation-${id}`,
    searchKey: owner,
    createdAt,
    updatedAt: new Date(createdAt.getTime() + 1500),
    steps: [
      step('ReserveAddress', 0, { state: 'SUCCEEDED', attempts: 1, startedAt: createdAt, finishedAt: new Date(createdAt.getTime() + 200) }),
      step(
        'CreateInbox',
        1,
        done ? { state: 'SUCCEEDED', attempts: 1, startedAt: createdAt, finishedAt: new Date(createdAt.getTime() + 600) } : { state: 'RUNNING', attempts: 1 },
      ),
      step(
        'CreateCalendar',
        1,
        done ? { state: 'SUCCEEDED', attempts: 1, startedAt: createdAt, finishedAt: new Date(createdAt.getTime() + 400) } : { state: 'RUNNING', attempts: 1 },
      ),
    ],
  };
};

const history = (count: number): HistoryEntry[] =>
  Array.from({ length: count }, (_, index) => ({
    direction: index % 2 === 0 ? 'out' : 'in',
    topic: 'mail.commands',
    messageId: `m-${index}`,
    type: `Message${index}`,
    step: null,
    at: at(index),
  }));

describe('the saga query API against Postgres', () => {
  let database: Awaited<ReturnType<typeof scratchDatabase>>;
  let dataSource: DataSource;
  const store = new SagaStore();
  const sagas: SagaState<MailboxData>[] = [];

  beforeAll(async () => {
    database = await scratchDatabase();
    dataSource = database.dataSource;
    const specs: [string, number, SagaStatus, string?][] = [
      ['ada', 1, 'COMPLETED'],
      ['bob', 2, 'RUNNING'],
      ['ada', 3, 'FAILED'],
      ['cy', 4, 'RUNNING', 'CloseMailbox'],
      ['dee', 5, 'COMPLETED'],
    ];
    for (const [owner, second, status, type] of specs) {
      const saga = mailboxSaga(owner, at(second), status, type);
      sagas.push(saga);
      await store.insert(dataSource.manager, saga, history(3));
    }
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('lists newest first, page by page with the cursor it hands out, until the cursor is null', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const decoded = cursor === null ? undefined : (decodeSagaCursor(cursor) ?? undefined);
      const page = await listSagas(dataSource.manager, { limit: 2, ...(decoded ? { cursor: decoded } : {}) });
      seen.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual([...sagas].reverse().map((saga) => saga.id));
  });

  it('filters by status, type and search key, and hands back the waiting steps and the data fields asked for', async () => {
    const running = await listSagas(dataSource.manager, { status: 'RUNNING', type: 'OpenMailbox', limit: 10, dataFields: ['mailboxId', 'missing'] });
    expect(running.items).toEqual([
      expect.objectContaining({
        id: sagas[1]!.id,
        status: 'RUNNING',
        searchKey: 'bob',
        waitingOn: ['CreateCalendar', 'CreateInbox'],
        dataFields: { mailboxId: sagas[1]!.data.mailboxId, missing: null },
        failedStep: null,
      }),
    ]);
    expect(running.nextCursor).toBeNull();
    const ada = await listSagas(dataSource.manager, { searchKey: 'ada', limit: 10 });
    expect(ada.items.map((item) => [item.status, item.failedStep, item.waitingOn])).toEqual([
      ['FAILED', 'CreateInbox', ['CreateCalendar', 'CreateInbox']],
      ['COMPLETED', null, []],
    ]);
  });

  it('refuses a cursor it did not hand out', () => {
    const cursor = { createdAt: '2025-01-01T12:00:03.000000', id: sagas[2]!.id };
    expect(decodeSagaCursor(encodeSagaCursor(cursor))).toEqual(cursor);
    for (const forged of [
      '',
      'not a cursor',
      Buffer.from(`${cursor.createdAt}|x`).toString('base64url'),
      Buffer.from(`yesterday|${cursor.id}`).toString('base64url'),
    ]) {
      expect(decodeSagaCursor(forged)).toBeNull();
    }
  });

  it('gets one saga with its history, cut at the limit and saying so; nothing for an unknown id', async () => {
    const found = await findSagaWithHistory<MailboxData>(dataSource.manager, store, sagas[0]!.id, 2);
    expect(found?.state).toMatchObject({ id: sagas[0]!.id, status: 'COMPLETED', data: sagas[0]!.data });
    expect(found?.history.map((entry) => entry.type)).toEqual(['Message0', 'Message1']);
    expect(found?.historyTruncated).toBe(true);
    expect((await findSagaWithHistory(dataSource.manager, store, sagas[0]!.id, 3))?.historyTruncated).toBe(false);
    expect(await findSagaWithHistory(dataSource.manager, store, nextId(), 3)).toBeNull();
  });

  it('reads sagas by id and the ones changed since a moment, oldest change first', async () => {
    expect((await sagasById(dataSource.manager, [sagas[3]!.id, nextId()])).map((item) => item.type)).toEqual(['CloseMailbox']);
    const changed = await sagasChangedSince(dataSource.manager, at(4), 10); // updated 1.5 s after creation: the sagas created at 3, 4 and 5 s
    expect(changed.map((item) => item.id)).toEqual([sagas[2]!.id, sagas[3]!.id, sagas[4]!.id]);
  });

  it('counts every status (zero included) by type, and measures the succeeded steps and completed sagas', async () => {
    const statistics = await sagaStatistics(dataSource.manager, 100);
    expect(statistics.byStatus).toEqual({ RUNNING: 2, COMPENSATING: 0, COMPLETED: 2, COMPENSATED: 0, FAILED: 1 });
    expect(statistics.byType).toEqual({ OpenMailbox: { COMPLETED: 2, RUNNING: 1, FAILED: 1 }, CloseMailbox: { RUNNING: 1 } });
    expect(statistics.steps.find((figures) => figures.name === 'CreateInbox')).toEqual({ name: 'CreateInbox', count: 2, p50Ms: 600, p95Ms: 600, p99Ms: 600 });
    expect(statistics.sagaDurations).toEqual({ count: 2, p50Ms: 1500, p95Ms: 1500, p99Ms: 1500 });
    expect(statistics.window).toEqual({ sagas: 5, since: at(1).toISOString() });
  });
});
