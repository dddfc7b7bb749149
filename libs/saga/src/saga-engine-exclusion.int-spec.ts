import { causedBy, type Envelope } from '@sitesaga/message-kit';
import type { DataSource } from 'typeorm';
import type { AnyCommand } from './define-saga';
import { SagaEngine, type SagaTransaction } from './saga-engine';
import {
  BookHotel,
  CancelHotel,
  CancelTrip,
  ChargeCard,
  ConfirmTrip,
  ForgetTrip,
  HoldSeat,
  IssueTicket,
  RefundCard,
  ReleaseSeat,
} from './testing/trip-catalogue';
import { scratchDatabase } from './testing/scratch-database';
import { cancelTripSaga, exclusiveTripSaga, RECEIPT, type TripData } from './testing/trip-saga';

let sequence = 0;
const newId = () => `cccccccc-0000-4000-8000-${String(++sequence).padStart(12, '0')}`;

/** Keyed exclusion (docs/adr/0008): a booking and a cancellation of one trip never run at once. */
describe('SagaEngine keyed exclusion against Postgres', () => {
  let database: Awaited<ReturnType<typeof scratchDatabase>>;
  let dataSource: DataSource;
  let now = new Date('2024-11-23T10:00:00.000Z');
  const engine = new SagaEngine([exclusiveTripSaga, cancelTripSaga], undefined, { timeScale: 0.001, clock: () => now });
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
  const reply = (sagaId: string, tripId: string, command: AnyCommand, outcome: 'succeeded' | 'failed', payload: Record<string, unknown> = {}) =>
    inTransaction((tx) => engine.handleReply(tx, command[outcome].create({ tripId, ...payload } as never, causedBy(lastSent(sagaId, command.type)))));
  const trip = (tripId: string): TripData => ({ tripId, traveller: `ada-${tripId.slice(-4)}`, destination: 'Lisbon' });
  const book = (sagaId: string, tripId: string) =>
    inTransaction((tx) =>
      engine.start(tx, exclusiveTripSaga, { sagaId, data: trip(tripId), cause: { id: `book-${sagaId}`, type: 'BookTrip', correlationId: `c-${sagaId}` } }),
    );
  const cancel = (sagaId: string, tripId: string) =>
    inTransaction((tx) =>
      engine.start(tx, cancelTripSaga, {
        sagaId,
        data: trip(tripId),
        cause: { id: `cancel-${sagaId}`, type: 'CancelTripRequested', correlationId: `c-${sagaId}` },
      }),
    );
  const load = (sagaId: string) => engine.store.load<TripData>(dataSource.manager, sagaId);
  const holderOf = async (tripId: string) =>
    ((await dataSource.query(`SELECT saga_id FROM saga_exclusion_holders WHERE exclusion_key = $1`, [`trip:${tripId}`])) as { saga_id: string }[])[0]
      ?.saga_id ?? null;

  async function completeBooking(sagaId: string, tripId: string): Promise<string[]> {
    await reply(sagaId, tripId, HoldSeat, 'succeeded', { traveller: 'x', destination: 'Oslo' });
    await reply(sagaId, tripId, BookHotel, 'succeeded', { confirmation: 'H-1' });
    await reply(sagaId, tripId, ChargeCard, 'succeeded', { paymentId: 'pay', receipt: RECEIPT });
    await reply(sagaId, tripId, IssueTicket, 'succeeded', { seat: '1A' });
    return (await reply(sagaId, tripId, ConfirmTrip, 'succeeded', { url: 'https://trip.example.com' })).sent;
  }

  it('makes a cancellation wait for the running booking of its trip and begins it in the transaction that completes the booking', async () => {
    const tripId = newId();
    const booking = newId();
    const cancellation = newId();
    await book(booking, tripId);

    const waiting = await cancel(cancellation, tripId);

    expect(waiting.sent).toEqual([]);
    expect(await load(cancellation)).toMatchObject({ status: 'RUNNING', waitingFor: booking, steps: [{ state: 'PENDING' }, { state: 'PENDING' }] });
    expect((await engine.store.history(dataSource.manager, cancellation)).map((entry) => `${entry.type} ${entry.messageId}`)).toEqual([
      `CancelTripRequested cancel-${cancellation}`,
      `WaitingForSaga ${booking}`,
    ]);

    const ending = await completeBooking(booking, tripId);

    expect(ending).toEqual(['TripBooked', 'CancelTrip']);
    expect(lastSent(cancellation, 'CancelTrip')).toMatchObject({ sagaId: cancellation, causationId: `cancel-${cancellation}`, payload: { tripId } });
    expect(await load(cancellation)).toMatchObject({ waitingFor: null, steps: [{ name: 'CancelTrip', state: 'RUNNING' }, { state: 'PENDING' }] });
    expect(await holderOf(tripId)).toBe(cancellation);

    await reply(cancellation, tripId, CancelTrip, 'succeeded');
    await reply(cancellation, tripId, ForgetTrip, 'succeeded');
    expect(await load(cancellation)).toMatchObject({ status: 'COMPLETED' });
    expect(await holderOf(tripId)).toBeNull();
  });

  it('lets sagas of other keys run at once', async () => {
    const booking = newId();
    await book(booking, newId());
    expect((await cancel(newId(), newId())).sent).toEqual(['CancelTrip']);
  });

  it('hands the key over when the holder is compensated, and keeps it while the holder is FAILED until a retry undoes it', async () => {
    const tripId = newId();
    const booking = newId();
    const cancellation = newId();
    await book(booking, tripId);
    await cancel(cancellation, tripId);
    await reply(booking, tripId, HoldSeat, 'succeeded', { traveller: 'x', destination: 'Oslo' });
    await reply(booking, tripId, BookHotel, 'failed', { reason: 'full', class: 'business' });
    await reply(booking, tripId, ChargeCard, 'succeeded', { paymentId: 'pay', receipt: RECEIPT });
    // RefundCard runs out of attempts: the booking is FAILED, needing a person.
    for (let attempt = 0; attempt < 3; attempt += 1)
      await reply(booking, tripId, RefundCard, 'failed', { reason: 'bank down', class: 'transient' }).then(fireDue);
    expect(await load(booking)).toMatchObject({ status: 'FAILED' });
    expect(await load(cancellation)).toMatchObject({ waitingFor: booking });

    await inTransaction((tx) => engine.retry(tx, booking));
    await reply(booking, tripId, RefundCard, 'succeeded');
    const released = await reply(booking, tripId, ReleaseSeat, 'succeeded');

    expect(await load(booking)).toMatchObject({ status: 'COMPENSATED' });
    expect(released.sent).toEqual(['TripFailed', 'CancelTrip']);
    expect(await holderOf(tripId)).toBe(cancellation);
  });

  it('serves waiters first come first served, each waiting for whoever holds the key now', async () => {
    const tripId = newId();
    const booking = newId();
    const [first, second] = [newId(), newId()];
    await book(booking, tripId);
    await cancel(first, tripId);
    await cancel(second, tripId);
    expect(await load(second)).toMatchObject({ waitingFor: booking });

    await completeBooking(booking, tripId);

    expect(await load(first)).toMatchObject({ waitingFor: null, steps: [{ state: 'RUNNING' }, { state: 'PENDING' }] });
    expect(await load(second)).toMatchObject({ waitingFor: first, steps: [{ state: 'PENDING' }, { state: 'PENDING' }] });
  });

  it('takes an aborted waiter out of the queue without touching the holder', async () => {
    const tripId = newId();
    const booking = newId();
    const cancellation = newId();
    await book(booking, tripId);
    await cancel(cancellation, tripId);

    const aborted = await inTransaction((tx) => engine.abort(tx, cancellation, 'changed my mind'));

    expect(aborted.result.status).toBe('COMPENSATED');
    expect(aborted.sent).toEqual([]);
    expect(await holderOf(tripId)).toBe(booking);
    expect(await completeBooking(booking, tripId)).toEqual(['TripBooked']);
    expect(await holderOf(tripId)).toBeNull();
  });

  it('lets exactly one of two concurrent starts on one key hold it: the other waits for it', async () => {
    const tripId = newId();
    const [left, right] = [newId(), newId()];
    let releaseLeft!: () => void;
    const leftMayCommit = new Promise<void>((resolve) => (releaseLeft = resolve));
    const leftStarted = inTransaction(async (tx) => {
      const state = await engine.start(tx, exclusiveTripSaga, {
        sagaId: left,
        data: trip(tripId),
        cause: { id: `book-${left}`, type: 'BookTrip', correlationId: 'c' },
      });
      await leftMayCommit; // the right start runs meanwhile, on another connection
      return state;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const rightStarted = cancel(right, tripId);
    await new Promise((resolve) => setTimeout(resolve, 100));
    releaseLeft();
    await Promise.all([leftStarted, rightStarted]);

    expect(await holderOf(tripId)).toBe(left);
    expect(await load(right)).toMatchObject({ waitingFor: left });
  });

  async function fireDue(): Promise<void> {
    now = new Date(now.getTime() + 120_000);
    for (const deadline of await engine.dueDeadlines(dataSource.manager, 100, now)) {
      await inTransaction((tx) => engine.fireDeadline(tx, deadline.sagaId, deadline.step, now));
    }
  }
});
