import { causedBy } from '@sitesaga/message-kit';
import { RefundCard, ForgetTrip, CancelTrip, ReleaseSeat, HoldSeat, TripNeedsAttention, TripCancelled, CancelHotel } from './testing/trip-catalogue';
import { defineSaga, emit, parallel, send, step } from './define-saga';
import { SagaScript } from './saga-script';
import { type TripData, tripReplyFields, tripSaga } from './testing/trip-saga';

const byTrip = (d: { tripId: string }) => ({ tripId: d.tripId });

const trip: TripData = { tripId: '11111111-1111-4111-8111-111111111111', traveller: 'ada', destination: 'Lisbon' };

/** Shaped like the delete-site saga: nothing to undo, so a step out of attempts stops for a person. */
const stoppingSaga = defineSaga<{ tripId: string }>({
  type: 'CancelBooking',
  defaults: { timeout: '30s', retry: { maxAttempts: 2, backoff: '1s', factor: 2, jitter: 0 } },
  whenExhausted: 'stop',
  stages: [
    step('CancelTrip', send(CancelTrip, byTrip)),
    parallel(step('CancelHotel', send(CancelHotel, byTrip)), step('RefundCard', send(RefundCard, byTrip))),
    step('ForgetTrip', send(ForgetTrip, byTrip)),
  ],
  onCompleted: (d) => [emit(TripCancelled, { tripId: d.tripId })],
  onNeedsAttention: (d, attention, context) => [
    emit(TripNeedsAttention, { tripId: d.tripId, sagaType: context.sagaType, step: attention.step, reason: attention.reason }),
  ],
});

describe('decide: replies are matched to the send they answer', () => {
  /** HoldSeat sent twice: the first send got no answer in time, the second is out. */
  function reservedTwice(): { script: SagaScript<TripData>; first: ReturnType<SagaScript<TripData>['lastSent']> } {
    const script = new SagaScript(tripSaga, tripReplyFields);
    script.start(trip);
    const first = script.lastSent('HoldSeat');
    script.passDeadline('HoldSeat'); // no reply: back off
    script.passDeadline('HoldSeat'); // re-send
    expect(script.step('HoldSeat').attempts).toBe(2);
    return { script, first };
  }

  it('lets a refusal of an earlier send decide nothing while a later send may still succeed', () => {
    const { script, first } = reservedTwice();

    const staleRefusal = HoldSeat.failed.create({ tripId: trip.tripId, reason: 'name taken', class: 'business' }, causedBy(first), {
      id: script.newId(),
      occurredAt: script.now,
    });
    const decision = script.input({ kind: 'reply', envelope: staleRefusal });

    expect(decision.ignored).toMatch(/earlier send/);
    expect(script.saga.status).toBe('RUNNING');
    expect(script.step('HoldSeat')).toMatchObject({ state: 'RUNNING', attempts: 2 });
    // The later send succeeds: the saga goes on as if the stale refusal never came.
    script.succeed(HoldSeat, { traveller: trip.traveller, destination: trip.destination });
    expect(script.justSent()).toEqual(['BookHotel', 'ChargeCard']);
  });

  it('undoes a step refused on a later send when an earlier send never got an answer', () => {
    const { script } = reservedTwice();

    script.fail(HoldSeat, 'business', 'name taken');

    // The first send may have reserved the site: it is released (idempotently) before the saga ends.
    expect(script.justSent()).toEqual(['ReleaseSeat']);
    expect(script.step('HoldSeat')).toMatchObject({ state: 'COMPENSATING', mayHaveTakenEffect: true });
    script.succeed(ReleaseSeat);
    expect(script.saga.status).toBe('COMPENSATED');
    expect(script.saga.failure).toMatchObject({ failedStep: 'HoldSeat', cause: 'business' });
  });

  it('undoes nothing when the refusal answers the only send', () => {
    const script = new SagaScript(tripSaga, tripReplyFields);
    script.start(trip);
    script.fail(HoldSeat, 'business', 'name taken');
    expect(script.saga.status).toBe('COMPENSATED');
    expect(script.step('HoldSeat')).toMatchObject({ state: 'FAILED', mayHaveTakenEffect: false, compensationAttempts: 0 });
  });
});

describe('decide: a saga that cannot be undone stops when a step runs out of attempts', () => {
  const tripId = trip.tripId;

  function exhaustedStorage(): SagaScript<{ tripId: string }> {
    const script = new SagaScript(stoppingSaga, tripReplyFields);
    script.start({ tripId });
    script.succeed(CancelTrip);
    script.succeed(RefundCard);
    script.fail(CancelHotel, 'transient', 'disk busy');
    script.passDeadline('CancelHotel'); // re-send, attempt 2
    script.fail(CancelHotel, 'transient', 'disk busy');
    return script;
  }

  it('ends FAILED, not COMPENSATED, and asks a person to look', () => {
    const script = exhaustedStorage();

    expect(script.saga.status).toBe('FAILED');
    expect(script.saga.failure).toMatchObject({ failedStep: 'CancelHotel', cause: 'exhausted', stuck: [{ step: 'CancelHotel' }] });
    expect(script.justSent()).toEqual(['TripNeedsAttention']);
    expect(script.lastSent('TripNeedsAttention').payload).toMatchObject({ tripId, sagaType: 'CancelBooking', step: 'CancelHotel' });
    expect(script.step('CancelHotel')).toMatchObject({ state: 'FAILED', attempts: 2, deadlineAt: null });
    expect(script.saga.steps.every((step) => step.deadlineAt === null)).toBe(true);
    expect(script.sent.map((envelope) => envelope.type)).not.toContain('SiteDeletionFailed');
  });

  it('goes on from the stopped step with fresh attempts when an operator retries it, and completes', () => {
    const script = exhaustedStorage();

    script.input({ kind: 'retry', requestId: 'operator-1' });

    expect(script.saga.status).toBe('RUNNING');
    expect(script.saga.failure).toBeNull();
    expect(script.justSent()).toEqual(['CancelHotel']);
    expect(script.step('CancelHotel')).toMatchObject({ state: 'RUNNING', attempts: 1, error: null });
    expect(script.step('RefundCard').state).toBe('SUCCEEDED');
    script.succeed(CancelHotel);
    script.succeed(ForgetTrip);
    expect(script.saga.status).toBe('COMPLETED');
    expect(script.justSent()).toEqual(['TripCancelledOutcome']);
  });

  it('leaves a sibling still waiting without a deadline while stopped, and sends it again on retry', () => {
    const script = new SagaScript(stoppingSaga, tripReplyFields);
    script.start({ tripId });
    script.succeed(CancelTrip);
    script.fail(CancelHotel, 'transient', 'disk busy');
    script.passDeadline('CancelHotel');
    script.fail(CancelHotel, 'transient', 'disk busy');

    expect(script.saga.status).toBe('FAILED');
    expect(script.step('RefundCard')).toMatchObject({ state: 'RUNNING', deadlineAt: null });

    script.input({ kind: 'retry' });
    expect(script.justSent().sort()).toEqual(['CancelHotel', 'RefundCard']);
  });
});

describe('decide: deadlines left on steps that wait for nothing', () => {
  it('clears a passed deadline of a saga that already ended instead of ignoring it forever', () => {
    const script = new SagaScript(tripSaga, tripReplyFields);
    script.start(trip);
    const ended = { ...script.saga, status: 'COMPLETED' as const };
    script.state = ended;

    const decision = script.passDeadline('HoldSeat');

    expect(decision.ignored).toBeNull();
    expect(decision.outgoing).toEqual([]);
    expect(script.step('HoldSeat')).toMatchObject({ state: 'RUNNING', deadlineAt: null, deadlineKind: null });
  });
});

describe('decide: a transient failure during an outage spends no attempt', () => {
  it('keeps re-sending through more transient failures than the budget while the host reports an outage, then counts again', () => {
    const script = new SagaScript(tripSaga, tripReplyFields); // maxAttempts 3
    script.start(trip);
    const failDuringOutage = () =>
      script.input({
        kind: 'reply',
        envelope: script.replyTo(HoldSeat, 'failed', { tripId: trip.tripId, reason: 'connection refused', class: 'transient' }),
        duringOutage: true,
      });

    for (let round = 0; round < 5; round += 1) {
      failDuringOutage();
      expect(script.step('HoldSeat')).toMatchObject({
        state: 'RUNNING',
        deadlineKind: 'resend',
        error: 'connection refused (during an outage: not counted)',
      });
      script.passDeadline('HoldSeat');
    }
    expect(script.sent.filter((envelope) => envelope.type === 'HoldSeat')).toHaveLength(6);
    expect(script.step('HoldSeat').attempts).toBe(1);

    // Outside an outage the budget counts again: two more transient failures and it gives up.
    script.fail(HoldSeat, 'transient', 'connection refused');
    script.passDeadline('HoldSeat');
    script.fail(HoldSeat, 'transient', 'connection refused');
    script.passDeadline('HoldSeat');
    script.fail(HoldSeat, 'transient', 'connection refused');
    expect(script.step('HoldSeat')).toMatchObject({ state: 'COMPENSATING', mayHaveTakenEffect: true });
  });
});
