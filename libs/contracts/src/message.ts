import { z } from 'zod';
import { type Causation, type Envelope, envelopeSchema, newMessageId, sagaIdFor } from './envelope';
import type { Topic } from './topics';
import { ContractViolation, fieldReasonsOf } from './validation';

export type MessageKind = 'command' | 'event';

/**
 * One message type at one version: its topic, its payload schema and a builder.
 * The only way the code base creates a message, so a message always lands on its topic
 * with a valid payload.
 */
export interface MessageDefinition<T extends string = string, P = unknown> {
  readonly type: T;
  readonly version: number;
  readonly kind: MessageKind;
  readonly topic: Topic;
  readonly schema: z.ZodType<P, z.ZodTypeDef, unknown>;
  /** Builds a validated envelope. `id` may be fixed by the caller (an idempotency key). */
  create(payload: P, causation: Causation, options?: { id?: string; occurredAt?: Date }): Envelope<P, T>;
  /** Narrows an envelope of unknown payload to this message, validating its payload. */
  parse(envelope: Envelope): Envelope<P, T>;
  is(envelope: Envelope): envelope is Envelope<P, T>;
}

/** A command with the events that answer it: no wiring needed by a saga that sends it. */
export interface CommandDefinition<T extends string = string, P = unknown> extends MessageDefinition<T, P> {
  readonly kind: 'command';
  readonly succeeded: MessageDefinition<string, { siteId: string }>;
  readonly failed: MessageDefinition<string, FailurePayload>;
}

export type PayloadOf<D> = D extends MessageDefinition<string, infer P> ? P : never;

/** What every participant's failure event carries (SPEC.md). */
export const failureClass = z.enum(['business', 'transient']);
export type FailureClass = z.infer<typeof failureClass>;
export const failurePayload = z
  .object({
    siteId: z.string().uuid(),
    reason: z.string().min(1).max(2000),
    class: failureClass,
  })
  .strict();
export type FailurePayload = z.infer<typeof failurePayload>;

function define<T extends string, P>(
  kind: MessageKind,
  spec: { type: T; version?: number; topic: Topic; schema: z.ZodType<P, z.ZodTypeDef, unknown> },
): MessageDefinition<T, P> {
  const version = spec.version ?? 1;
  const definition: MessageDefinition<T, P> = {
    type: spec.type,
    version,
    kind,
    topic: spec.topic,
    schema: spec.schema,
    create(payload, causation, options) {
      const checked = spec.schema.safeParse(payload);
      if (!checked.success) {
        throw new ContractViolation(`invalid ${spec.type} payload`, fieldReasonsOf(checked.error, 'payload'));
      }
      return {
        id: options?.id ?? newMessageId(),
        type: spec.type,
        version,
        sagaId: causation.sagaId,
        correlationId: causation.correlationId,
        causationId: causation.causationId,
        occurredAt: (options?.occurredAt ?? new Date()).toISOString(),
        payload: checked.data,
      };
    },
    parse(envelope) {
      if (envelope.type !== spec.type || envelope.version !== version) {
        throw new ContractViolation('wrong message', [
          { field: 'type', message: `expected ${spec.type} v${version}, got ${envelope.type} v${envelope.version}` },
        ]);
      }
      const checked = spec.schema.safeParse(envelope.payload);
      if (!checked.success) {
        throw new ContractViolation(`invalid ${spec.type} payload`, fieldReasonsOf(checked.error, 'payload'));
      }
      return { ...envelope, type: spec.type, payload: checked.data };
    },
    is(envelope): envelope is Envelope<P, T> {
      return envelope.type === spec.type && envelope.version === version;
    },
  };
  return definition;
}

export const defineEvent = <T extends string, P>(spec: {
  type: T;
  version?: number;
  topic: Topic;
  schema: z.ZodType<P, z.ZodTypeDef, unknown>;
}): MessageDefinition<T, P> => define('event', spec);

export const defineCommand = <T extends string, P>(spec: {
  type: T;
  version?: number;
  topic: Topic;
  schema: z.ZodType<P, z.ZodTypeDef, unknown>;
  succeeded: MessageDefinition<string, { siteId: string }>;
  failed: MessageDefinition<string, FailurePayload>;
}): CommandDefinition<T, P> => ({ ...define('command', spec), kind: 'command', succeeded: spec.succeeded, failed: spec.failed });

/** Client commands that may leave the saga id to the orchestrator. */
const SAGA_STARTING_TYPES = new Set(['CreateSite', 'DeleteSite']);

/** Parses raw bytes into an envelope; throws ContractViolation with field reasons. */
export function parseEnvelope(raw: Buffer | string | null): Envelope {
  if (raw === null) throw new ContractViolation('unreadable message', [{ field: '(value)', message: 'empty message value' }]);
  let json: unknown;
  try {
    json = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch (error) {
    throw new ContractViolation('unreadable message', [{ field: '(value)', message: `not JSON: ${(error as Error).message}` }]);
  }
  const checked = envelopeSchema.safeParse(json);
  if (!checked.success) throw new ContractViolation('invalid envelope', fieldReasonsOf(checked.error));
  const { sagaId, ...rest } = checked.data;
  if (sagaId !== undefined) return { ...rest, sagaId } as Envelope;
  if (!SAGA_STARTING_TYPES.has(rest.type)) throw new ContractViolation('invalid envelope', [{ field: 'sagaId', message: 'Required' }]);
  return { ...rest, sagaId: sagaIdFor(rest.id) } as Envelope;
}
