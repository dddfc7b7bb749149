import { causedBy, type Envelope } from '@sitesaga/message-kit';
import { ConfirmTrip, IssueTicket, TripNeedsAttention, CancelHotel, RefundCard, ChargeCard, BookHotel, ReleaseSeat, HoldSeat } from './testing/trip-catalogue';
import type { DataSource } from 'typeorm';
import { type AnyCommand, emit } from './define-saga';
import { SagaNotFound, SagaTransitionRefused } from './errors';
import { SagaEngine, type SagaTransaction } from './saga-engine';
import { scratchDatabase } from './testing/scratch-database';
import { RECEIPT, type TripData, tripReplyFields, tripSaga } from './testing/trip-saga';

let sequence = 0;
const newSagaId = () => `bbbbbbbb-0000-4000-8000-${String(++sequence).padStart(12, '0')}`;
const tripOf = (tripId: string): TripData => ({ tripId, traveller: `ada-${sequence}`, destination: 'Lisbon' });

describe('SagaEngine against Postgres', () => {
  let database: Awaited<ReturnType<typeof scratchDatabase>>;
  let dataSource: DataSource;
  let now = new Date('2024-11-23T10:00:00.000Z');
  const engine = new SagaEngine([tripSaga], undefined, {
    timeScale: 0.001,
    clock: () => now,
    onQuarantined: (saga, quarantine) => [
      emit(TripNeedsAttention, { tripId: saga.id, sagaType: saga.type, step: quarantine.step ?? '(saga)', reason: quarantine.reason }),
    ],
  });
  const published: Envelope[] = [];

  beforeAll(async () => {
    database = await scratchDatabase();
    dataSource = database.dataSource;
  });
  afterAll(async () => {
    await database?.drop();
  });

  /** Runs `work` in one transaction like libs/messaging's unit of work; returns what it published and the statements it sent. */
  async function inTransaction<T>(work: (tx: SagaTransaction) => Promise<T>): Promise<{ result: T; sent: string[]; statements: number }> {
    const pending: Envelope[] = [];
    database.counter.statements = [];
    const result = await dataSource.transaction((manager) => work({ manager, publish: (envelope) => pending.push(envelope) }));
    published.push(...pending);
    return { result, sent: pending.map((envelope) => envelope.type), statements: database.counter.statements.length };
  }

  const lastSent = (sagaId: string, type: string): Envelope => {
    const envelope = [...published].reverse().find((candidate) => candidate.sagaId === sagaId && candidate.type === type);
    if (!envelope) throw new Error(`${type} not published for ${sagaId}`);
    return envelope;
  };

  const reply = (sagaId: string, command: AnyCommand, outcome: 'succeeded' | 'failed', payload: Record<string, unknown> = {}) =>
    inTransaction((tx) => engine.handleReply(tx, command[outcome].create({ tripId: sagaId, ...payload } as never, causedBy(lastSent(sagaId, command.type)))));

  const start = (sagaId: string) =>
    inTransaction((tx) =>
      engine.start(tx, tripSaga, { sagaId, data: tripOf(sagaId), cause: { id: `request-${sagaId}`, type: 'BookTrip', correlationId: `request-${sagaId}` } }),
    );

  const load = (sagaId: string) => engine.store.load<TripData>(dataSource.manager, sagaId);

  it('runs a saga to COMPLETED with two statements per event', async () => {
    const sagaId = newSagaId();
    const started = await start(sagaId);
    expect(started.sent).toEqual(['TripStarted', 'HoldSeat']);
    expect(started.statements).toBe(1);

    const reserved = await reply(sagaId, HoldSeat, 'succeeded', { traveller: 'x', destination: 'Oslo' });
    expect(reserved).toMatchObject({ result: true, sent: ['BookHotel', 'ChargeCard'], statements: 2 });
    expect((await reply(sagaId, BookHotel, 'succeeded', { confirmation: 'H-9' })).sent).toEqual([]);
    expect((await reply(sagaId, ChargeCard, 'succeeded', { paymentId: 'pay_x', receipt: RECEIPT })).sent).toEqual(['IssueTicket']);
    await reply(sagaId, IssueTicket, 'succeeded', { seat: '12A' });
    const activated = await reply(sagaId, ConfirmTrip, 'succeeded', { url: 'https://x.example.com' });

    expect(activated).toMatchObject({ sent: ['TripBooked'], statements: 2 });
    const saga = await load(sagaId);
    expect(saga).toMatchObject({ status: 'COMPLETED', version: 6, data: { paymentId: 'pay_x', url: 'https://x.example.com' } });
    expect(engine.redactedData(saga!)).toMatchObject({ receipt: '[redacted]' });
    const history = await engine.store.history(dataSource.manager, sagaId);
    expect(history.map((entry) => `${entry.direction} ${entry.type}`)).toEqual([
      'in BookTrip',
      'out TripStarted',
      'out HoldSeat',
      'in SeatHeld',
      'out BookHotel',
      'out ChargeCard',
      'in HotelBooked',
      'in CardCharged',
      'out IssueTicket',
      'in TicketIssued',
      'out ConfirmTrip',
      'in TripConfirmed',
      'out TripBooked',
    ]);
  });

  it('records a late duplicate reply without advancing the saga', async () => {
    const sagaId = newSagaId();
    await start(sagaId);
    await reply(sagaId, HoldSeat, 'succeeded', { traveller: 'x', destination: 'Oslo' });

    const duplicate = await reply(sagaId, HoldSeat, 'succeeded', { traveller: 'x', destination: 'Oslo' });

    expect(duplicate).toMatchObject({ result: true, sent: [], statements: 2 }); // load + history row
    expect(await load(sagaId)).toMatchObject({ version: 2 });
    expect((await engine.store.history(dataSource.manager, sagaId)).filter((entry) => entry.type === 'SeatHeld')).toHaveLength(2);
  });

  it('answers false for an event of no saga', async () => {
    const stray = HoldSeat.succeeded.create(
      { tripId: newSagaId(), traveller: 'x', destination: 'Oslo' },
      { sagaId: newSagaId(), correlationId: 'c', causationId: null },
    );
    expect((await inTransaction((tx) => engine.handleReply(tx, stray))).result).toBe(false);
  });

  it('re-sends on scaled deadlines, gives up, and compensates in reverse order', async () => {
    const sagaId = newSagaId();
    await start(sagaId);
    await reply(sagaId, HoldSeat, 'succeeded', { traveller: 'x', destination: 'Oslo' });
    await reply(sagaId, BookHotel, 'succeeded', { confirmation: 'H-9' });

    const fired: string[][] = [];
    for (let round = 0; round < 10 && (await load(sagaId))?.status === 'RUNNING'; round += 1) {
      now = new Date(now.getTime() + 61); // ChargeCard: 60 s timeout at 1/1000
      const due = await engine.dueDeadlines(dataSource.manager, 100, now);
      for (const deadline of due.filter((candidate) => candidate.sagaId === sagaId)) {
        fired.push((await inTransaction((tx) => engine.fireDeadline(tx, deadline.sagaId, deadline.step, now))).sent);
      }
    }

    expect(fired).toEqual([[], ['ChargeCard'], [], ['ChargeCard'], ['CancelHotel', 'RefundCard']]);
    await reply(sagaId, CancelHotel, 'succeeded');
    expect((await reply(sagaId, RefundCard, 'succeeded')).sent).toEqual(['ReleaseSeat']);
    expect((await reply(sagaId, ReleaseSeat, 'succeeded')).sent).toEqual(['TripFailed']);
    expect(await load(sagaId)).toMatchObject({ status: 'COMPENSATED' });
    expect(await engine.dueDeadlines(dataSource.manager, 100, new Date(now.getTime() + 3_600_000))).not.toContainEqual(expect.objectContaining({ sagaId }));
  });

  it('sets aside a saga whose type no definition knows when a reply comes for it, telling a person once', async () => {
    const sagaId = newSagaId();
    await start(sagaId);
    await dataSource.query(`UPDATE saga_instances SET type = 'RenamedSaga' WHERE id = $1`, [sagaId]);

    const first = await reply(sagaId, HoldSeat, 'succeeded', { traveller: 'x', destination: 'Oslo' });

    expect(first).toMatchObject({ result: true, sent: ['TripNeedsAttention'] });
    const saga = await load(sagaId);
    expect(saga).toMatchObject({ status: 'FAILED', failure: { failedStep: '(saga)', cause: 'quarantined', reason: 'no saga definition of type RenamedSaga' } });
    expect(saga?.steps.every((step) => step.deadlineAt === null)).toBe(true);
    expect(lastSent(sagaId, 'TripNeedsAttention')).toMatchObject({ sagaId, causationId: expect.any(String), payload: { sagaType: 'RenamedSaga' } });
    // A later reply is only recorded: nothing more is sent.
    expect(await reply(sagaId, HoldSeat, 'succeeded', { traveller: 'x', destination: 'Oslo' })).toMatchObject({ result: true, sent: [] });
    expect((await engine.store.history(dataSource.manager, sagaId)).map((entry) => entry.type)).toContain('Quarantined');
  });

  it('keeps the outcome of an ended saga when asked to set it aside, clearing only its deadlines', async () => {
    const sagaId = newSagaId();
    await start(sagaId);
    await dataSource.query(`UPDATE saga_instances SET status = 'COMPLETED' WHERE id = $1`, [sagaId]);

    expect((await inTransaction((tx) => engine.quarantine(tx, sagaId, 'HoldSeat', 'broken'))).sent).toEqual([]);
    const saga = await load(sagaId);
    expect(saga?.status).toBe('COMPLETED');
    expect(saga?.steps.every((step) => step.deadlineAt === null)).toBe(true);
  });

  it('aborts a running saga and refuses to abort it twice', async () => {
    const sagaId = newSagaId();
    await start(sagaId);

    const aborted = await inTransaction((tx) => engine.abort(tx, sagaId, 'operator said so'));
    expect(aborted.sent).toEqual(['ReleaseSeat']);
    expect(aborted.result.status).toBe('COMPENSATING');

    await expect(inTransaction((tx) => engine.abort(tx, sagaId, 'again'))).rejects.toThrow(SagaTransitionRefused);
    await expect(inTransaction((tx) => engine.retry(tx, newSagaId()))).rejects.toThrow(SagaNotFound);
  });
});
