import { randomUUID } from 'node:crypto';
import { z } from 'zod';

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

/** The envelope alone, payload unchecked: the first gate every consumed message passes. */
export const envelopeSchema = z.object({
  id: z.string().min(1).max(200),
  type: z.string().regex(/^[A-Z][A-Za-z]{1,80}$/, 'must be a PascalCase message type'),
  version: z.number().int().positive(),
  sagaId: uuid,
  correlationId: z.string().min(1).max(200),
  causationId: z.string().min(1).max(200).nullable().optional().default(null),
  occurredAt: z.string().datetime({ offset: true }),
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
