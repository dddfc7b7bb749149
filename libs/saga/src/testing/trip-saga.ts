import { defineSaga, emit, parallel, type SagaSpec, send, step } from '../define-saga';
import {
  BookHotel,
  CancelHotel,
  CancelTrip,
  ForgetTrip,
  ChargeCard,
  ConfirmTrip,
  HoldSeat,
  IssueTicket,
  RefundCard,
  ReleaseSeat,
  TripBooked,
  TripFailed,
  TripNeedsAttention,
  TripRejected,
  TripStarted,
} from './trip-catalogue';

/** The engine's test saga: hold a seat, then hotel ∥ payment, then the ticket, then confirm. */
export interface TripData {
  readonly tripId: string;
  readonly traveller: string;
  readonly destination: string;
  /** Filled by ChargeCard. */
  readonly paymentId?: string;
  /** Filled by ChargeCard; never shown (redacted). */
  readonly receipt?: string;
  /** Filled by ConfirmTrip. */
  readonly url?: string;
}

export const RECEIPT = 'receipt-7f3a';

const tripSpec: SagaSpec<TripData> = {
  type: 'BookTrip',
  defaults: { timeout: '30s', retry: { maxAttempts: 3, backoff: '1s', factor: 2, jitter: 0, maxBackoff: '30s' } },
  stages: [
    step('HoldSeat', send(HoldSeat, seat), { undo: send(ReleaseSeat, byTrip) }),
    parallel(
      step('BookHotel', send(BookHotel, byTrip), { undo: send(CancelHotel, byTrip) }),
      step('ChargeCard', send(ChargeCard, byTrip), {
        undo: send(RefundCard, byTrip),
        timeout: '60s',
        onSucceeded: (data, payload) => ({ ...data, paymentId: payload.paymentId, receipt: payload.receipt }),
      }),
    ),
    step('IssueTicket', send(IssueTicket, ticket)), // undone with the payment
    step('ConfirmTrip', send(ConfirmTrip, byTrip), { onSucceeded: (data, payload) => ({ ...data, url: payload.url }) }),
  ],
  onStarted: (data) => [emit(TripStarted, { tripId: data.tripId, traveller: data.traveller, destination: data.destination })],
  onCompleted: (data) => [emit(TripBooked, { tripId: data.tripId, traveller: data.traveller, destination: data.destination, url: data.url ?? '' })],
  onCompensated: (data, outcome) =>
    outcome.failedStep === 'HoldSeat' && outcome.cause === 'business'
      ? [emit(TripRejected, { reasons: outcome.reasons ? [...outcome.reasons] : [{ field: 'trip', message: outcome.reason }] })]
      : [emit(TripFailed, { tripId: data.tripId, failedStep: outcome.failedStep, reason: outcome.reason })],
  onNeedsAttention: (data, attention, context) => [
    emit(TripNeedsAttention, { tripId: data.tripId, sagaType: context.sagaType, step: attention.step, reason: attention.reason }),
  ],
  redact: ['receipt'],
  searchKey: (data) => data.traveller,
};

export const tripSaga = defineSaga<TripData>(tripSpec);

/**
 * Version 2 of BookTrip, deployed beside version 1: `IssueTicket` is renamed
 * `IssueETicket` (same command) and a last step `ForgetTrip` is added. Instances that
 * started on version 1 finish on it; new ones take this path.
 */
export const tripSagaV2 = defineSaga<TripData>({
  ...tripSpec,
  version: 2,
  stages: [
    step('HoldSeat', send(HoldSeat, seat), { undo: send(ReleaseSeat, byTrip) }),
    parallel(
      step('BookHotel', send(BookHotel, byTrip), { undo: send(CancelHotel, byTrip) }),
      step('ChargeCard', send(ChargeCard, byTrip), {
        undo: send(RefundCard, byTrip),
        timeout: '60s',
        onSucceeded: (data, payload) => ({ ...data, paymentId: payload.paymentId, receipt: payload.receipt }),
      }),
    ),
    step('IssueETicket', send(IssueTicket, ticket)),
    step('ConfirmTrip', send(ConfirmTrip, byTrip), { onSucceeded: (data, payload) => ({ ...data, url: payload.url }) }),
    step('ForgetTrip', send(ForgetTrip, byTrip)),
  ],
});

/** BookTrip excluding any other saga of the same trip (its exclusion key). */
export const exclusiveTripSaga = defineSaga<TripData>({ ...tripSpec, exclusionKey: (data) => tripKey(data) });

/** Cancelling a trip: never at once with its booking (same exclusion key), so it waits for the booking to end. */
export const cancelTripSaga = defineSaga<TripData>({
  type: 'CancelTrip',
  defaults: { timeout: '30s', retry: { maxAttempts: 3, backoff: '1s', factor: 2, jitter: 0, maxBackoff: '30s' } },
  stages: [step('CancelTrip', send(CancelTrip, byTrip)), step('ForgetTrip', send(ForgetTrip, byTrip))],
  exclusionKey: (data) => tripKey(data),
  searchKey: (data) => data.traveller,
});

function tripKey(data: TripData): string {
  return `trip:${data.tripId}`;
}

function byTrip(data: TripData) {
  return { tripId: data.tripId };
}
function seat(data: TripData) {
  return { tripId: data.tripId, traveller: data.traveller, destination: data.destination };
}
function ticket(data: TripData) {
  return { tripId: data.tripId, traveller: data.traveller, paymentId: data.paymentId ?? '', receipt: data.receipt ?? '' };
}

/** What every reply of the trip domain carries. */
export const tripReplyFields = (data: { tripId: string }) => ({ tripId: data.tripId });
