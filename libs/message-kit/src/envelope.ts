import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { unstorableTextReason } from './storable-text';

/** The JSON value of every Kafka message (SPEC.md, "Messages"). */
export interface Envelope<P = unknown, T extends string = string> {
  /** Unique per message; the dedupe key of every inbox. */
  readonly id: string;
  readonly type: T;
  readonly version: number;
  readonly sagaId: string;
  /** The saga's originating request. */
  readonly correlationId: string;
  /** Id of the message that caused this one; null for a message that starts a conversation. */
  readonly causationId: string | null;
  readonly occurredAt: string;
  readonly payload: P;
}

const uuid = z.string().uuid();
const isoDateTime = z.string().datetime({ offset: true });

/**
 * An id-like envelope field: it becomes an inbox primary key, a Kafka header and a log
 * field, so it must be text Postgres can store (no NUL: a NUL in `id` once made the inbox
 * insert fail forever and blocked its partition) and nothing that forges a log line.
 */
export const envelopeText = z
  .string()
  .min(1)
  .max(200)
  .superRefine((text, ctx) => {
    const reason = text.length <= 200 ? unstorableTextReason(text) : null;
    if (reason) ctx.addIssue({ code: 'custom', message: reason });
  });

/** The envelope alone, payload unchecked: the first gate every consumed message passes. */
export const envelopeSchema = z.object({
  id: envelopeText,
  type: z.string().regex(/^[A-Z][A-Za-z]{1,80}$/, 'must be a PascalCase message type'),
  version: z.number().int().positive(),
  // Optional only on the wire: a client's command that starts a saga may leave it to the
  // orchestrator (see Catalogue.parseEnvelope); every other message must carry it.
  sagaId: uuid.optional(),
  correlationId: envelopeText,
  causationId: envelopeText.nullable().optional().default(null),
  occurredAt: z
    .string()
    .datetime({ offset: true })
    .superRefine((text, ctx) => {
      // The format says nothing of the calendar: 2024-02-31 passes it. (Checked only on a
      // well-formed value, so a malformed one gets one reason, not two.)
      if (isoDateTime.safeParse(text).success && Number.isNaN(Date.parse(text))) ctx.addIssue({ code: 'custom', message: 'must be a real date and time' });
    }),
  payload: z.unknown(),
});

/** Who a new message is caused by: its saga, its conversation and its direct cause. */
export interface Causation {
  readonly sagaId: string;
  readonly correlationId: string;
  readonly causationId: string | null;
}

/** The causation of a message sent in reaction to `cause`. */
export const causedBy = (cause: Pick<Envelope, 'id' | 'sagaId' | 'correlationId'>): Causation => ({
  sagaId: cause.sagaId,
  correlationId: cause.correlationId,
  causationId: cause.id,
});

export const newMessageId = (): string => randomUUID();

/**
 * A name-based UUID (version 5 layout) of `name` in `namespace`: the same input names the
 * same id, e.g. the saga id a catalogue assigns to a client command that names none.
 */
export function nameBasedId(namespace: string, name: string): string {
  const hash = createHash('sha1').update(`${namespace}:${name}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50; // version 5
  hash[8] = (hash[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The Kafka headers every message carries (the outbox writes them; AsyncAPI documents
 * them): a reader can route or trace a message without parsing its value.
 */
export const envelopeHeaders = (envelope: Envelope): Record<string, string> => ({
  'message-id': envelope.id,
  'message-type': envelope.type,
  'message-version': String(envelope.version),
  'saga-id': envelope.sagaId,
  'correlation-id': envelope.correlationId,
  ...(envelope.causationId ? { 'causation-id': envelope.causationId } : {}),
  'content-type': 'application/json',
});
