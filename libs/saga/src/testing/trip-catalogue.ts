import { defineCatalogue, defineCommand, defineEvent, failureFields, fieldReasonList } from '@sitesaga/message-kit';
import { z } from 'zod';

/**
 * A toy domain for the engine's own tests: booking a trip. It is not the site platform on
 * purpose: the engine must run any product's sagas, so its tests use messages it has never
 * heard of, defined with the message kit alone.
 */
const tripId = z.string().uuid();
const byTrip = z.object({ tripId }).strict();
const tripFailure = z.object({ tripId, ...failureFields }).strict();

function tripCommand<T extends string, P extends { tripId: string }, S>(
  type: T,
  schema: z.ZodType<P, z.ZodTypeDef, unknown>,
  succeeded: string,
  succeededSchema: z.ZodType<S, z.ZodTypeDef, unknown>,
  failed: string,
) {
  return defineCommand({
    type,
    topic: 'trips.commands',
    schema,
    succeeded: defineEvent({ type: succeeded, topic: 'trips.events', schema: succeededSchema }),
    failed: defineEvent({ type: failed, topic: 'trips.events', schema: tripFailure }),
    failure: (payload: P, failure) => ({ tripId: payload.tripId, ...failure, reasons: failure.reasons && [...failure.reasons] }),
  });
}

export const HoldSeat = tripCommand(
  'HoldSeat',
  z.object({ tripId, traveller: z.string(), destination: z.string() }).strict(),
  'SeatHeld',
  z.object({ tripId, traveller: z.string(), destination: z.string() }).strict(),
  'SeatHoldRefused',
);
export const ReleaseSeat = tripCommand('ReleaseSeat', byTrip, 'SeatReleased', byTrip, 'SeatReleaseFailed');
export const BookHotel = tripCommand('BookHotel', byTrip, 'HotelBooked', z.object({ tripId, confirmation: z.string() }).strict(), 'HotelBookingFailed');
export const CancelHotel = tripCommand('CancelHotel', byTrip, 'HotelCancelled', byTrip, 'HotelCancellationFailed');
export const ChargeCard = tripCommand(
  'ChargeCard',
  byTrip,
  'CardCharged',
  z.object({ tripId, paymentId: z.string(), receipt: z.string() }).strict(),
  'CardChargeFailed',
);
export const RefundCard = tripCommand('RefundCard', byTrip, 'CardRefunded', byTrip, 'CardRefundFailed');
export const IssueTicket = tripCommand(
  'IssueTicket',
  z.object({ tripId, traveller: z.string(), paymentId: z.string().min(1), receipt: z.string().min(1) }).strict(),
  'TicketIssued',
  z.object({ tripId, seat: z.string() }).strict(),
  'TicketIssueFailed',
);
export const ConfirmTrip = tripCommand('ConfirmTrip', byTrip, 'TripConfirmed', z.object({ tripId, url: z.string().url() }).strict(), 'TripConfirmationFailed');
export const CancelTrip = tripCommand('CancelTrip', byTrip, 'TripCancelled', byTrip, 'TripCancellationRefused');
export const ForgetTrip = tripCommand('ForgetTrip', byTrip, 'TripForgotten', byTrip, 'TripForgetFailed');

const trip = { tripId, traveller: z.string(), destination: z.string() };
export const TripStarted = defineEvent({ type: 'TripStarted', topic: 'trips.outcomes', schema: z.object(trip).strict() });
export const TripBooked = defineEvent({ type: 'TripBooked', topic: 'trips.outcomes', schema: z.object({ ...trip, url: z.string() }).strict() });
export const TripRejected = defineEvent({ type: 'TripRejected', topic: 'trips.outcomes', schema: z.object({ reasons: fieldReasonList }).strict() });
export const TripFailed = defineEvent({
  type: 'TripFailed',
  topic: 'trips.outcomes',
  schema: z.object({ tripId, failedStep: z.string(), reason: z.string() }).strict(),
});
export const TripCancelled = defineEvent({ type: 'TripCancelledOutcome', topic: 'trips.outcomes', schema: byTrip });
export const TripNeedsAttention = defineEvent({
  type: 'TripNeedsAttention',
  topic: 'trips.outcomes',
  schema: z.object({ tripId, sagaType: z.string(), step: z.string(), reason: z.string() }).strict(),
});

export const TRIP_CATALOGUE = defineCatalogue({
  messages: [
    HoldSeat,
    ReleaseSeat,
    BookHotel,
    CancelHotel,
    ChargeCard,
    RefundCard,
    IssueTicket,
    ConfirmTrip,
    CancelTrip,
    ForgetTrip,
    TripStarted,
    TripBooked,
    TripRejected,
    TripFailed,
    TripCancelled,
    TripNeedsAttention,
  ],
});
