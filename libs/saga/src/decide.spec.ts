import { CancelTrip, ConfirmTrip, IssueTicket, CancelHotel, RefundCard, ChargeCard, BookHotel, ReleaseSeat, HoldSeat } from './testing/trip-catalogue';
import { SagaTransitionRefused, UnroutableReply } from './errors';
import { SagaScript } from './saga-script';
import { RECEIPT, type TripData, tripReplyFields, tripSaga } from './testing/trip-saga';

const trip: TripData = { tripId: '11111111-1111-4111-8111-111111111111', traveller: 'ada', destination: 'Lisbon' };
const cardCharged = { paymentId: 'pay_1', receipt: RECEIPT };
const SECOND = 1_000;

/** A saga that has held its seat and sent both the hotel and the payment. */
function provisioning(): SagaScript<TripData> {
  const script = new SagaScript(tripSaga, tripReplyFields);
  script.start(trip);
  script.succeed(HoldSeat, { traveller: trip.traveller, destination: trip.destination });
  return script;
}

const states = (script: SagaScript<TripData>) => Object.fromEntries(script.saga.steps.map((step) => [step.name, step.state]));

describe('decide: the forward path', () => {
  it('announces the saga and sends only HoldSeat when it starts', () => {
    const script = new SagaScript(tripSaga, tripReplyFields);
    script.start(trip);

    expect(script.justSent()).toEqual(['TripStarted', 'HoldSeat']);
    expect(script.saga.status).toBe('RUNNING');
    expect(script.saga.searchKey).toBe('ada');
    const reserve = script.lastSent('HoldSeat');
    expect(reserve).toMatchObject({ sagaId: script.saga.id, correlationId: 'correlation-1', causationId: 'request-1' });
    expect(script.step('HoldSeat')).toMatchObject({ state: 'RUNNING', attempts: 1, deadlineKind: 'reply', lastMessageId: reserve.id });
    expect(script.step('HoldSeat').deadlineAt).toEqual(new Date(script.now.getTime() + 30 * SECOND));
    expect(script.last?.history.map((entry) => `${entry.direction} ${entry.type}`)).toEqual(['in BookTrip', 'out TripStarted', 'out HoldSeat']);
  });

  it('books the hotel and charges the card at once when the seat is held, caused by the reply', () => {
    const script = new SagaScript(tripSaga, tripReplyFields);
    script.start(trip);
    const reply = script.replyTo(HoldSeat, 'succeeded', { tripId: trip.tripId, traveller: trip.traveller, destination: trip.destination });
    script.input({ kind: 'reply', envelope: reply });

    expect(script.justSent()).toEqual(['BookHotel', 'ChargeCard']);
    expect(script.last?.outgoing.every((envelope) => envelope.causationId === reply.id)).toBe(true);
    expect(script.step('ChargeCard').deadlineAt).toEqual(new Date(script.now.getTime() + 60 * SECOND));
  });

  it('sends IssueTicket only after CardCharged when HotelBooked came first', () => {
    const script = provisioning();

    script.succeed(BookHotel, { confirmation: 'H-1' });
    expect(script.justSent()).toEqual([]);
    expect(states(script)).toMatchObject({ BookHotel: 'SUCCEEDED', ChargeCard: 'RUNNING', IssueTicket: 'PENDING' });

    script.succeed(ChargeCard, cardCharged);
    expect(script.justSent()).toEqual(['IssueTicket']);
    expect(script.lastSent('IssueTicket').payload).toMatchObject({ paymentId: 'pay_1', receipt: RECEIPT });
  });

  it('sends IssueTicket only after HotelBooked when CardCharged came first', () => {
    const script = provisioning();

    script.succeed(ChargeCard, cardCharged);
    expect(script.justSent()).toEqual([]);

    script.succeed(BookHotel, { confirmation: 'H-1' });
    expect(script.justSent()).toEqual(['IssueTicket']);
  });

  it('completes and announces the trip when every step succeeded, leaving no deadline behind', () => {
    const script = provisioning();
    script.succeed(BookHotel, { confirmation: 'H-1' });
    script.succeed(ChargeCard, cardCharged);
    script.succeed(IssueTicket, { seat: 'admin' });
    expect(script.justSent()).toEqual(['ConfirmTrip']);

    script.succeed(ConfirmTrip, { url: 'https://trips.example.com/ada' });

    expect(script.saga.status).toBe('COMPLETED');
    expect(script.justSent()).toEqual(['TripBooked']);
    expect(script.lastSent('TripBooked').payload).toEqual({
      tripId: trip.tripId,
      traveller: 'ada',
      destination: 'Lisbon',
      url: 'https://trips.example.com/ada',
    });
    expect(script.saga.steps.every((step) => step.state === 'SUCCEEDED' && step.deadlineAt === null)).toBe(true);
  });
});

describe('decide: failures', () => {
  it('compensates nothing when HoldSeat is refused for a business reason, and ends COMPENSATED', () => {
    const script = new SagaScript(tripSaga, tripReplyFields);
    script.start(trip);

    script.fail(HoldSeat, 'business', 'traveller has no passport', [{ field: 'traveller', message: 'has no passport' }]);

    expect(script.saga.status).toBe('COMPENSATED');
    // The participant's structured reasons reach the outcome hook as they were sent.
    expect(script.justSent()).toEqual(['TripRejected']);
    expect(script.lastSent('TripRejected').payload).toEqual({ reasons: [{ field: 'traveller', message: 'has no passport' }] });
    expect(states(script)).toEqual({ HoldSeat: 'FAILED', BookHotel: 'SKIPPED', ChargeCard: 'SKIPPED', IssueTicket: 'SKIPPED', ConfirmTrip: 'SKIPPED' });
    expect(script.step('HoldSeat')).toMatchObject({ mayHaveTakenEffect: false, compensationAttempts: 0, error: 'traveller has no passport' });
  });

  it('re-sends after a transient failure once the backoff passed, with a new message id, counting attempts', () => {
    const script = new SagaScript(tripSaga, tripReplyFields);
    script.start(trip);
    const first = script.lastSent('HoldSeat');

    script.fail(HoldSeat, 'transient', 'connection reset');
    expect(script.justSent()).toEqual([]);
    expect(script.step('HoldSeat')).toMatchObject({ state: 'RUNNING', attempts: 1, deadlineKind: 'resend', error: 'connection reset' });
    expect(script.step('HoldSeat').deadlineAt).toEqual(new Date(script.now.getTime() + 1 * SECOND));

    script.passDeadline('HoldSeat');
    const second = script.lastSent('HoldSeat');
    expect(script.justSent()).toEqual(['HoldSeat']);
    expect(second.id).not.toBe(first.id);
    expect(second.payload).toEqual(first.payload);
    expect(script.step('HoldSeat')).toMatchObject({ state: 'RUNNING', attempts: 2, deadlineKind: 'reply', lastMessageId: second.id });
    expect(script.step('HoldSeat').deadlineAt).toEqual(new Date(script.now.getTime() + 30 * SECOND));

    script.fail(HoldSeat, 'transient', 'connection reset');
    expect(script.step('HoldSeat').deadlineAt).toEqual(new Date(script.now.getTime() + 2 * SECOND)); // backoff doubled
  });

  it('backs off after a reply deadline passes before re-sending', () => {
    const script = new SagaScript(tripSaga, tripReplyFields);
    script.start(trip);

    script.passDeadline('HoldSeat');
    expect(script.justSent()).toEqual([]);
    expect(script.step('HoldSeat')).toMatchObject({ attempts: 1, deadlineKind: 'resend', error: 'no reply within 30000 ms' });

    script.passDeadline('HoldSeat');
    expect(script.justSent()).toEqual(['HoldSeat']);
    expect(script.step('HoldSeat').attempts).toBe(2);
  });

  it('undoes storage and database together, then the reservation, when ChargeCard never answers', () => {
    const script = provisioning();
    script.succeed(BookHotel, { confirmation: 'H-1' });

    script.passDeadline('ChargeCard'); // no reply to send 1
    script.passDeadline('ChargeCard'); // send 2
    script.passDeadline('ChargeCard'); // no reply to send 2
    script.passDeadline('ChargeCard'); // send 3
    expect(script.step('ChargeCard').attempts).toBe(3);
    script.passDeadline('ChargeCard'); // no reply to send 3: attempts spent

    expect(script.saga.status).toBe('COMPENSATING');
    expect(script.justSent()).toEqual(['CancelHotel', 'RefundCard']);
    expect(script.step('ChargeCard')).toMatchObject({ state: 'COMPENSATING', mayHaveTakenEffect: true, compensationAttempts: 1 });
    expect(states(script)).toMatchObject({ HoldSeat: 'SUCCEEDED', BookHotel: 'COMPENSATING', IssueTicket: 'SKIPPED', ConfirmTrip: 'SKIPPED' });

    script.succeed(RefundCard);
    expect(script.justSent()).toEqual([]); // the group is undone together before the stage below it
    script.succeed(CancelHotel);
    expect(script.justSent()).toEqual(['ReleaseSeat']);

    script.succeed(ReleaseSeat);
    expect(script.saga.status).toBe('COMPENSATED');
    expect(script.justSent()).toEqual(['TripFailed']);
    expect(script.lastSent('TripFailed').payload).toEqual({
      tripId: trip.tripId,
      failedStep: 'ChargeCard',
      reason: 'no reply within 60000 ms (gave up after 3 attempts)',
    });
    expect(states(script)).toEqual({
      HoldSeat: 'COMPENSATED',
      BookHotel: 'COMPENSATED',
      ChargeCard: 'COMPENSATED',
      IssueTicket: 'SKIPPED',
      ConfirmTrip: 'SKIPPED',
    });
    expect(script.saga.steps.every((step) => step.deadlineAt === null)).toBe(true);
  });

  it('undoes a sibling still running when its partner is refused, and ignores the sibling’s late success', () => {
    const script = provisioning();

    script.fail(ChargeCard, 'business', 'quota exceeded');
    expect(script.justSent()).toEqual(['CancelHotel']);
    expect(script.step('BookHotel')).toMatchObject({ state: 'COMPENSATING', mayHaveTakenEffect: true });
    expect(script.step('ChargeCard')).toMatchObject({ state: 'FAILED', mayHaveTakenEffect: false, compensationAttempts: 0 });

    const before = script.saga;
    script.succeed(BookHotel, { confirmation: 'H-1' });
    expect(script.last?.ignored).toMatch(/BookHotel is COMPENSATING/);
    expect(script.saga).toBe(before);
    expect(script.last?.history.map((entry) => entry.type)).toEqual(['HotelBooked']);

    script.succeed(CancelHotel);
    expect(script.justSent()).toEqual(['ReleaseSeat']);
  });

  it('flags the saga FAILED and needing attention when a compensation runs out of attempts, without undoing earlier stages', () => {
    const script = provisioning();
    script.succeed(BookHotel, { confirmation: 'H-1' });
    script.fail(ChargeCard, 'business', 'quota exceeded');
    expect(script.justSent()).toEqual(['CancelHotel']);

    script.fail(CancelHotel, 'business', 'directory busy'); // compensations retry whatever the class
    expect(script.step('BookHotel')).toMatchObject({ state: 'COMPENSATING', compensationAttempts: 1, deadlineKind: 'resend' });
    script.passDeadline('BookHotel');
    expect(script.justSent()).toEqual(['CancelHotel']);
    script.fail(CancelHotel, 'transient', 'disk unavailable');
    script.passDeadline('BookHotel');
    script.passDeadline('BookHotel'); // no reply to send 3

    expect(script.saga.status).toBe('FAILED');
    expect(script.justSent()).toEqual(['TripNeedsAttention']);
    expect(script.lastSent('TripNeedsAttention').payload).toEqual({
      tripId: trip.tripId,
      sagaType: 'BookTrip',
      step: 'BookHotel',
      reason: 'compensation: no reply within 30000 ms (gave up after 3 attempts)',
    });
    expect(script.saga.failure).toMatchObject({ failedStep: 'ChargeCard', cause: 'business', stuck: [{ step: 'BookHotel' }] });
    expect(states(script)).toMatchObject({ HoldSeat: 'SUCCEEDED', BookHotel: 'FAILED' });
    expect(script.sent.map((envelope) => envelope.type)).not.toContain('ReleaseSeat');
  });

  it('leaves a step without compensation FAILED and undoes the rest when it exhausts its attempts', () => {
    const script = provisioning();
    script.succeed(BookHotel, { confirmation: 'H-1' });
    script.succeed(ChargeCard, cardCharged);
    for (let send = 1; send <= 3; send += 1) {
      script.fail(IssueTicket, 'transient', 'database starting up');
      if (send < 3) script.passDeadline('IssueTicket');
    }

    expect(script.step('IssueTicket')).toMatchObject({ state: 'FAILED', mayHaveTakenEffect: true, attempts: 3 });
    expect(script.justSent()).toEqual(['CancelHotel', 'RefundCard']);
    script.succeed(CancelHotel);
    script.succeed(RefundCard);
    script.succeed(ReleaseSeat);
    expect(script.saga.status).toBe('COMPENSATED');
    expect(states(script)).toMatchObject({ IssueTicket: 'FAILED', ConfirmTrip: 'SKIPPED' });
  });

  it('keeps a succeeded step without compensation SUCCEEDED when a later step is undone', () => {
    const script = provisioning();
    script.succeed(BookHotel, { confirmation: 'H-1' });
    script.succeed(ChargeCard, cardCharged);
    script.succeed(IssueTicket, { seat: 'admin' });

    script.fail(ConfirmTrip, 'business', 'domain blocked');

    expect(script.justSent()).toEqual(['CancelHotel', 'RefundCard']);
    expect(states(script)).toMatchObject({ IssueTicket: 'SUCCEEDED', ConfirmTrip: 'FAILED' });
  });
});

describe('decide: late and duplicate messages', () => {
  it('records a duplicate success of a step already SUCCEEDED and changes nothing', () => {
    const script = provisioning();
    script.succeed(BookHotel, { confirmation: 'H-1' });
    const before = script.saga;

    script.succeed(BookHotel, { confirmation: 'H-1' });

    expect(script.saga).toBe(before);
    expect(script.justSent()).toEqual([]);
    expect(script.last?.ignored).toMatch(/BookHotel is SUCCEEDED/);
    expect(script.last?.history).toEqual([expect.objectContaining({ direction: 'in', type: 'HotelBooked', topic: 'trips.events', step: 'BookHotel' })]);
  });

  it('does not count a transient failure of an earlier send twice', () => {
    const script = new SagaScript(tripSaga, tripReplyFields);
    script.start(trip);
    const staleFailure = script.replyTo(HoldSeat, 'failed', { tripId: trip.tripId, reason: 'connection reset', class: 'transient' });
    script.input({ kind: 'reply', envelope: staleFailure });
    script.passDeadline('HoldSeat'); // send 2 is out

    script.input({ kind: 'reply', envelope: { ...staleFailure, id: 'redelivered-copy' } });

    expect(script.last?.ignored).toMatch(/earlier send/);
    expect(script.step('HoldSeat')).toMatchObject({ attempts: 2, deadlineKind: 'reply' });
  });

  it('accepts a late success of an earlier send while the step backs off', () => {
    const script = new SagaScript(tripSaga, tripReplyFields);
    script.start(trip);
    script.passDeadline('HoldSeat'); // backing off

    script.succeed(HoldSeat, { traveller: trip.traveller, destination: trip.destination });

    expect(script.step('HoldSeat').state).toBe('SUCCEEDED');
    expect(script.justSent()).toEqual(['BookHotel', 'ChargeCard']);
  });

  it('refuses, loudly, an event that answers no command the saga sends, and changes nothing', () => {
    const script = new SagaScript(tripSaga, tripReplyFields);
    script.start(trip);
    const before = script.saga;
    // CancelTrip is a command of the catalogue that no step of BookTrip sends.
    const stray = CancelTrip.succeeded.create({ tripId: trip.tripId }, { sagaId: script.saga.id, correlationId: 'x', causationId: null });

    expect(() => script.input({ kind: 'reply', envelope: stray })).toThrow(UnroutableReply);
    expect(() => script.input({ kind: 'reply', envelope: stray })).toThrow(/no step of BookTrip sends a command that TripCancelled answers/);
    expect(script.saga).toBe(before);
  });

  it('ignores a deadline that a reply already moved on, recording nothing', () => {
    const script = new SagaScript(tripSaga, tripReplyFields);
    script.start(trip);
    script.succeed(HoldSeat, { traveller: trip.traveller, destination: trip.destination });
    script.advance(60 * SECOND);

    const decision = script.input({ kind: 'deadline', step: 'HoldSeat' });

    expect(decision.ignored).not.toBeNull();
    expect(decision.history).toEqual([]);
  });
});

describe('decide: operators', () => {
  function stuck(): SagaScript<TripData> {
    const script = provisioning();
    script.succeed(BookHotel, { confirmation: 'H-1' });
    script.fail(ChargeCard, 'business', 'quota exceeded');
    for (let send = 1; send <= 3; send += 1) {
      script.fail(CancelHotel, 'transient', 'disk unavailable');
      if (send < 3) script.passDeadline('BookHotel');
    }
    expect(script.saga.status).toBe('FAILED');
    return script;
  }

  it('re-sends the failed compensation with fresh attempts when a FAILED saga is retried, then finishes undoing', () => {
    const script = stuck();
    const previous = script.lastSent('CancelHotel');

    script.input({ kind: 'retry', requestId: 'admin-retry-1' });

    expect(script.saga.status).toBe('COMPENSATING');
    expect(script.justSent()).toEqual(['CancelHotel']);
    expect(script.lastSent('CancelHotel').id).not.toBe(previous.id);
    expect(script.lastSent('CancelHotel').causationId).toBe('admin-retry-1');
    expect(script.step('BookHotel')).toMatchObject({ state: 'COMPENSATING', compensationAttempts: 1 });
    expect(script.saga.failure?.stuck).toEqual([]);

    script.succeed(CancelHotel);
    expect(script.justSent()).toEqual(['ReleaseSeat']);
    script.succeed(ReleaseSeat);
    expect(script.saga.status).toBe('COMPENSATED');
    expect(script.lastSent('TripFailed').payload).toMatchObject({ failedStep: 'ChargeCard', reason: 'quota exceeded' });
  });

  it('re-sends every running step now when a RUNNING saga is retried', () => {
    const script = provisioning();
    script.fail(BookHotel, 'transient', 'disk busy'); // backing off

    script.input({ kind: 'retry' });

    expect(script.justSent()).toEqual(['BookHotel', 'ChargeCard']);
    expect(script.step('BookHotel')).toMatchObject({ attempts: 1, deadlineKind: 'reply' });
  });

  it('compensates a RUNNING saga when it is aborted, recording the reason', () => {
    const script = provisioning();
    script.succeed(BookHotel, { confirmation: 'H-1' });

    script.input({ kind: 'abort', reason: 'customer cancelled' });

    expect(script.saga.status).toBe('COMPENSATING');
    expect(script.justSent()).toEqual(['CancelHotel', 'RefundCard']);
    expect(script.saga.failure).toMatchObject({ failedStep: 'ChargeCard', reason: 'aborted: customer cancelled', cause: 'aborted' });
    expect(script.last?.history[0]).toMatchObject({ direction: 'in', type: 'AbortRequested' });
  });

  it('refuses to abort a saga that is not running and to retry a finished one', () => {
    const script = new SagaScript(tripSaga, tripReplyFields);
    script.start(trip);
    script.fail(HoldSeat, 'business', 'name taken');
    const saga = script.saga;

    expect(() => script.input({ kind: 'abort', reason: 'late' })).toThrow(SagaTransitionRefused);
    expect(() => script.input({ kind: 'retry' })).toThrow(/cannot retry saga .* it is COMPENSATED/);
    expect(script.saga).toBe(saga);
  });
});
