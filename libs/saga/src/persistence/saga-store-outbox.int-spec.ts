import type { DataSource } from 'typeorm';
import type { SagaState, StepState } from '../saga-state';
import { scratchDatabase } from '../testing/scratch-database';
import { SagaStore } from './saga-store';

/**
 * Deadlines measure the participant, not the plumbing: a reply deadline counts from when
 * its command reached the broker (the outbox's `sent_at`), not from the commit.
 */
const at = (iso: string) => new Date(iso);
const T0 = at('2024-11-23T10:00:00.000Z');
const seconds = (s: number) => new Date(T0.getTime() + s * 1000);

let sequence = 0;
const newId = () => `cccccccc-0000-4000-8000-${String(++sequence).padStart(12, '0')}`;

/** A saga whose one step waits for the reply to `messageId` until `deadlineAt`. */
const waiting = (id: string, messageId: string, deadlineAt: Date, deadlineKind: StepState['deadlineKind'] = 'reply'): SagaState => ({
  id,
  type: 'TestCreateSite',
  status: 'RUNNING',
  version: 1,
  definitionVersion: 1,
  waitingFor: null,
  data: { siteId: id },
  failure: null,
  correlationId: 'correlation',
  searchKey: null,
  createdAt: T0,
  updatedAt: T0,
  steps: [
    {
      name: 'ReserveSite',
      position: 0,
      state: 'RUNNING',
      attempts: 1,
      compensationAttempts: 0,
      mayHaveTakenEffect: false,
      deadlineAt,
      deadlineKind,
      lastMessageId: messageId,
      startedAt: T0,
      finishedAt: null,
      error: null,
    },
  ],
});

describe('SagaStore with an outbox: deadlines count from the broker’s ack', () => {
  let database: Awaited<ReturnType<typeof scratchDatabase>>;
  let dataSource: DataSource;
  const store = new SagaStore({ outboxTable: 'test_outbox', unsentGraceMs: 600_000 });

  beforeAll(async () => {
    database = await scratchDatabase();
    dataSource = database.dataSource;
    // The shape of libs/messaging's outbox_messages, as far as the store reads it.
    await dataSource.query(
      `CREATE TABLE test_outbox (position bigserial PRIMARY KEY, message_id text NOT NULL, created_at timestamptz NOT NULL, sent_at timestamptz)`,
    );
    await dataSource.query(`CREATE INDEX test_outbox_message_id_idx ON test_outbox (message_id)`);
  });
  afterAll(async () => {
    await database?.drop();
  });
  beforeEach(async () => {
    await dataSource.query(`UPDATE saga_steps SET deadline_at = NULL, deadline_kind = NULL`);
  });

  /** Commits a saga waiting 30 s for the reply to a command committed at T0 and sent at `sentAt` (null: still in the outbox). */
  async function sagaWhoseCommandWasSent(sentAt: Date | null): Promise<string> {
    const id = newId();
    const messageId = `command-${id}`;
    await dataSource.query(`INSERT INTO test_outbox (message_id, created_at, sent_at) VALUES ($1, $2, $3)`, [messageId, T0, sentAt]);
    await store.insert(dataSource.manager, waiting(id, messageId, seconds(30)));
    return id;
  }

  const dueAt = async (now: Date) => (await store.dueDeadlines(dataSource.manager, now, 100)).map((due) => due.sagaId);

  it('is not due while its command has not reached the broker, however late it is', async () => {
    const unsent = await sagaWhoseCommandWasSent(null);

    expect(await dueAt(seconds(31))).not.toContain(unsent);
    expect(await dueAt(seconds(500))).not.toContain(unsent);
  });

  it('gives up holding back a command unsent for longer than the grace, so no saga waits forever', async () => {
    const unsent = await sagaWhoseCommandWasSent(null);

    expect(await dueAt(seconds(30 + 601))).toContain(unsent);
  });

  it('is due as long after the ack as the timeout, when the command was sent late', async () => {
    const late = await sagaWhoseCommandWasSent(seconds(200)); // the broker was out for 200 s

    expect(await dueAt(seconds(229))).not.toContain(late);
    const [due] = (await store.dueDeadlines(dataSource.manager, seconds(230), 100)).filter((candidate) => candidate.sagaId === late);
    expect(due).toEqual({ sagaId: late, step: 'ReserveSite', deadlineAt: seconds(30), dueAt: seconds(230) });
  });

  it('is due at its deadline when the command went out at once, or is gone from the outbox', async () => {
    const prompt = await sagaWhoseCommandWasSent(T0);
    const expired = newId();
    await store.insert(dataSource.manager, waiting(expired, 'deleted-by-retention', seconds(30)));

    expect(await dueAt(seconds(29))).toEqual([]);
    expect((await dueAt(seconds(30))).sort()).toEqual([prompt, expired].sort());
  });

  it('does not hold back a backoff: a re-send is due at its time whatever became of the last command', async () => {
    const id = newId();
    await dataSource.query(`INSERT INTO test_outbox (message_id, created_at, sent_at) VALUES ($1, $2, NULL)`, [`command-${id}`, T0]);
    await store.insert(dataSource.manager, waiting(id, `command-${id}`, seconds(2), 'resend'));

    expect(await dueAt(seconds(2))).toEqual([id]);
  });

  it('lists the earliest due first, by when they fell due', async () => {
    const sentLate = await sagaWhoseCommandWasSent(seconds(20)); // due at 50 s
    const sentAtOnce = await sagaWhoseCommandWasSent(T0); // due at 30 s

    expect(await dueAt(seconds(60))).toEqual([sentAtOnce, sentLate]);
  });

  it('moves the reply deadlines of commands sent before the outage by its length, and every reply deadline by the recovery time', async () => {
    const before = await sagaWhoseCommandWasSent(T0); // out before the outage: its reply was stuck
    const during = await sagaWhoseCommandWasSent(seconds(100)); // sent after the outage began: its clock already started late
    const unsent = await sagaWhoseCommandWasSent(null);
    const resend = newId();
    await store.insert(dataSource.manager, waiting(resend, 'none', seconds(10), 'resend'));

    const moved = await store.postponeReplyDeadlines(dataSource.manager, { outageMs: 90_000, since: seconds(10), recoveryMs: 15_000 });

    expect(moved).toBe(3);
    const deadlineOf = async (id: string) => (await store.load(dataSource.manager, id))?.steps[0]?.deadlineAt;
    expect(await deadlineOf(before)).toEqual(seconds(30 + 90 + 15));
    expect(await deadlineOf(during)).toEqual(seconds(30 + 15));
    expect(await deadlineOf(unsent)).toEqual(seconds(30 + 15));
    expect(await deadlineOf(resend)).toEqual(seconds(10)); // a backoff is not a wait for a participant
  });
});
