import { causedBy, type Envelope } from '@sitesaga/message-kit';
import type { DataSource } from 'typeorm';
import type { AnyCommand } from './define-saga';
import { SagaVersionNotDeployed } from './errors';
import { SagaEngine, type SagaTransaction } from './saga-engine';
import { BookHotel, ChargeCard, ConfirmTrip, ForgetTrip, HoldSeat, IssueTicket } from './testing/trip-catalogue';
import { scratchDatabase } from './testing/scratch-database';
import { RECEIPT, type TripData, tripSaga, tripSagaV2 } from './testing/trip-saga';

let sequence = 0;
const newSagaId = () => `dddddddd-0000-4000-8000-${String(++sequence).padStart(12, '0')}`;

/** Definition versions (docs/adr/0007): a deploy that changes a saga's steps lets the running ones finish as they started. */
describe('SagaEngine with several definition versions against Postgres', () => {
  let database: Awaited<ReturnType<typeof scratchDatabase>>;
  let dataSource: DataSource;
  let now = new Date('2024-11-23T10:00:00.000Z');
  const options = { timeScale: 0.001, clock: () => now };
  const before = new SagaEngine([tripSaga], undefined, options);
  const both = new SagaEngine([tripSaga, tripSagaV2], undefined, options);
  const newestOnly = new SagaEngine([tripSagaV2], undefined, { ...options, onUndeployed: (saga, what) => undeployed.push(`${saga.id}: ${what}`) });
  const undeployed: string[] = [];
  const published: Envelope[] = [];

  beforeAll(async () => {
    database = await scratchDatabase();
    dataSource = database.dataSource;
  });
  afterAll(async () => {
    await database?.drop();
  });

  async function inTransaction<T>(work: (tx: SagaTransaction) => Promise<T>): Promise<{ result: T; sent: string[] }> {
    const pending: Envelope[] = [];
    const result = await dataSource.transaction((manager) => work({ manager, publish: (envelope) => pending.push(envelope) }));
    published.push(...pending);
    return { result, sent: pending.map((envelope) => envelope.type) };
  }
  const lastSent = (sagaId: string, type: string): Envelope => {
    const envelope = [...published].reverse().find((candidate) => candidate.sagaId === sagaId && candidate.type === type);
    if (!envelope) throw new Error(`${type} not published for ${sagaId}`);
    return envelope;
  };
  const replyOf = (sagaId: string, command: AnyCommand, payload: Record<string, unknown> = {}) =>
    command.succeeded.create({ tripId: sagaId, ...payload } as never, causedBy(lastSent(sagaId, command.type)));
  const reply = (engine: SagaEngine, sagaId: string, command: AnyCommand, payload: Record<string, unknown> = {}) =>
    inTransaction((tx) => engine.handleReply(tx, replyOf(sagaId, command, payload)));
  const start = (engine: SagaEngine, sagaId: string) =>
    inTransaction((tx) =>
      engine.start(tx, 'BookTrip', {
        sagaId,
        data: { tripId: sagaId, traveller: 'ada', destination: 'Lisbon' },
        cause: { id: `r-${sagaId}`, type: 'BookTripRequested', correlationId: 'c' },
      }),
    );
  const load = (sagaId: string) => both.store.load<TripData>(dataSource.manager, sagaId);
  const stepsOf = async (sagaId: string) => (await load(sagaId))?.steps.map((step) => `${step.name}:${step.state}`);
  const sentTypes = async (sagaId: string) =>
    (await both.store.history(dataSource.manager, sagaId))
      .filter((entry) => entry.direction === 'out')
      .map((entry) => `${entry.type}${entry.step ? `@${entry.step}` : ''}`);

  it('finishes a saga started on version 1 on version 1 once version 2 is deployed beside it, and starts new sagas on version 2', async () => {
    const old = newSagaId();
    await start(before, old);
    await reply(before, old, HoldSeat, { traveller: 'x', destination: 'Oslo' });

    // The deploy: version 2 renames IssueTicket to IssueETicket and adds ForgetTrip; version 1 stays deployed.
    const fresh = newSagaId();
    await start(both, fresh);
    expect(await load(fresh)).toMatchObject({ definitionVersion: 2 });
    expect(await load(old)).toMatchObject({ definitionVersion: 1 });

    for (const sagaId of [old, fresh]) {
      if (sagaId === fresh) await reply(both, sagaId, HoldSeat, { traveller: 'x', destination: 'Oslo' });
      await reply(both, sagaId, BookHotel, { confirmation: 'H-1' });
      await reply(both, sagaId, ChargeCard, { paymentId: 'pay', receipt: RECEIPT });
      await reply(both, sagaId, IssueTicket, { seat: '1A' });
      await reply(both, sagaId, ConfirmTrip, { url: 'https://trip.example.com' });
    }
    await reply(both, fresh, ForgetTrip);

    expect(await load(old)).toMatchObject({ status: 'COMPLETED' });
    expect(await stepsOf(old)).toEqual(['HoldSeat:SUCCEEDED', 'BookHotel:SUCCEEDED', 'ChargeCard:SUCCEEDED', 'IssueTicket:SUCCEEDED', 'ConfirmTrip:SUCCEEDED']);
    expect(await sentTypes(old)).toEqual([
      'TripStarted',
      'HoldSeat@HoldSeat',
      'BookHotel@BookHotel',
      'ChargeCard@ChargeCard',
      'IssueTicket@IssueTicket',
      'ConfirmTrip@ConfirmTrip',
      'TripBooked',
    ]);
    expect(await load(fresh)).toMatchObject({ status: 'COMPLETED' });
    expect(await sentTypes(fresh)).toEqual([
      'TripStarted',
      'HoldSeat@HoldSeat',
      'BookHotel@BookHotel',
      'ChargeCard@ChargeCard',
      'IssueTicket@IssueETicket',
      'ConfirmTrip@ConfirmTrip',
      'ForgetTrip@ForgetTrip',
      'TripBooked',
    ]);
  });

  it('parks the replies of a saga whose version is not deployed, leaves its deadlines alone, and handles them in order once it is deployed again', async () => {
    const old = newSagaId();
    await start(before, old);
    await reply(before, old, HoldSeat, { traveller: 'x', destination: 'Oslo' });
    const hotel = replyOf(old, BookHotel, { confirmation: 'H-1' });
    const card = replyOf(old, ChargeCard, { paymentId: 'pay', receipt: RECEIPT });

    // Deployed without version 1: nothing crashes, nothing is lost.
    expect(await inTransaction((tx) => newestOnly.handleReply(tx, hotel))).toEqual({ result: true, sent: [] });
    expect(await inTransaction((tx) => newestOnly.handleReply(tx, card))).toEqual({ result: true, sent: [] });
    expect(await stepsOf(old)).toEqual(['HoldSeat:SUCCEEDED', 'BookHotel:RUNNING', 'ChargeCard:RUNNING', 'IssueTicket:PENDING', 'ConfirmTrip:PENDING']);
    expect(undeployed).toEqual([
      `${old}: HotelBooked parked: BookTrip version 1 is not deployed (deployed: 2)`,
      `${old}: CardCharged parked: BookTrip version 1 is not deployed (deployed: 2)`,
    ]);
    now = new Date(now.getTime() + 3_600_000);
    expect((await newestOnly.dueDeadlines(dataSource.manager, 100, now)).map((deadline) => deadline.sagaId)).not.toContain(old);
    expect((await inTransaction((tx) => newestOnly.fireDeadline(tx, old, 'BookHotel', now))).result).toBe(false);
    await expect(inTransaction((tx) => newestOnly.retry(tx, old))).rejects.toThrow(SagaVersionNotDeployed);
    expect(await inTransaction((tx) => newestOnly.handleParked(tx))).toMatchObject({ result: null });

    // Version 1 deployed again: the parked replies move the saga, oldest first, once each.
    expect(await inTransaction((tx) => both.handleParked(tx))).toEqual({ result: old, sent: [] });
    expect(await inTransaction((tx) => both.handleParked(tx))).toEqual({ result: old, sent: ['IssueTicket'] });
    expect(await inTransaction((tx) => both.handleParked(tx))).toEqual({ result: null, sent: [] });
    expect(await stepsOf(old)).toEqual(['HoldSeat:SUCCEEDED', 'BookHotel:SUCCEEDED', 'ChargeCard:SUCCEEDED', 'IssueTicket:RUNNING', 'ConfirmTrip:PENDING']);
  });

  it('refuses two definitions of one type and version', () => {
    expect(() => new SagaEngine([tripSaga, tripSaga])).toThrow('two saga definitions of type BookTrip version 1');
  });
});
