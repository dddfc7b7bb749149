import { z } from 'zod';
import { type Causation, type Envelope, envelopeText, newMessageId } from './envelope';
import { diagnosticText, shapeProblemsOf } from './storable-text';
import { boundReasons, ContractViolation, countOf, type FieldReason, fieldReasonList, fieldReasonsOf, REASON_LIMITS } from './validation';

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
  readonly topic: string;
  /**
   * A client's command that may name no saga: the catalogue then assigns its saga id
   * (see `Catalogue.parseEnvelope`). Every other message must carry one.
   */
  readonly startsSaga: boolean;
  readonly schema: z.ZodType<P, z.ZodTypeDef, unknown>;
  /** Builds a validated envelope. `id` may be fixed by the caller (an idempotency key). */
  create(payload: P, causation: Causation, options?: { id?: string; occurredAt?: Date }): Envelope<P, T>;
  /** Narrows an envelope of unknown payload to this message, validating its payload. */
  parse(envelope: Envelope): Envelope<P, T>;
  is(envelope: Envelope): envelope is Envelope<P, T>;
}

/**
 * Why a participant could not do what a command asked: the generic part of every failure
 * event. `class` says whether retrying can change it; `reasons`, when the refusal is about
 * the command's fields, says which ones, as `{ field, message }` (never text to parse).
 */
export const failureClass = z.enum(['business', 'transient']);
export type FailureClass = z.infer<typeof failureClass>;
export interface Failure {
  readonly reason: string;
  readonly class: FailureClass;
  readonly reasons?: readonly FieldReason[];
}
/** The fields of `Failure` as zod shapes, for a catalogue's failure events (`z.object({ ...failureFields, siteId })`). */
export const failureFields = {
  reason: diagnosticText(2000, 1),
  class: failureClass,
  reasons: fieldReasonList.optional(),
};
export const failurePayload = z.object(failureFields).strict();

/**
 * A command with the events that answer it: a saga that sends it knows its replies, and a
 * participant that fails it knows how to say so (`failure` builds the failure event's
 * payload from the command's and the generic failure).
 */
export interface CommandDefinition<T extends string = string, P = unknown, S = unknown, F extends Failure = Failure> extends MessageDefinition<T, P> {
  readonly kind: 'command';
  readonly succeeded: MessageDefinition<string, S>;
  readonly failed: MessageDefinition<string, F>;
  failure(payload: P, failure: Failure): F;
}

export type PayloadOf<D> = D extends MessageDefinition<string, infer P> ? P : never;

function define<T extends string, P>(
  kind: MessageKind,
  spec: { type: T; version?: number; topic: string; schema: z.ZodType<P, z.ZodTypeDef, unknown>; startsSaga?: boolean },
): MessageDefinition<T, P> {
  const version = spec.version ?? 1;
  const definition: MessageDefinition<T, P> = {
    type: spec.type,
    version,
    kind,
    topic: spec.topic,
    startsSaga: spec.startsSaga ?? false,
    schema: spec.schema,
    create(payload, causation, options) {
      const checked = spec.schema.safeParse(payload);
      if (!checked.success) throw new ContractViolation(`invalid ${spec.type} payload`, fieldReasonsOf(checked.error, 'payload'));
      // What we send is held to what we accept: the built payload (after transforms, which
      // escape diagnostic text) must pass the receiver's walk, or it would be refused there.
      const built = shapeProblemsOf(checked.data, 'payload');
      if (built.tooLarge) throw new ContractViolation(`invalid ${spec.type} payload`, [built.tooLarge]);
      if (built.total > 0) throw new ContractViolation(`invalid ${spec.type} payload`, boundReasons(built.problems, built.total));
      // A caller-fixed id (an idempotency key) becomes an inbox key too.
      const fixedId = options?.id === undefined ? null : envelopeText.safeParse(options.id);
      if (fixedId && !fixedId.success) throw new ContractViolation(`invalid ${spec.type} id`, fieldReasonsOf(fixedId.error, 'id'));
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
      const checked = checkPayload(spec.schema, envelope.payload, 'payload');
      if (!checked.success) throw new ContractViolation(`invalid ${spec.type} payload`, checked.reasons);
      return { ...envelope, type: spec.type, payload: checked.data };
    },
    is(envelope): envelope is Envelope<P, T> {
      return envelope.type === spec.type && envelope.version === version;
    },
  };
  return definition;
}

/**
 * Checks a payload (or an HTTP body) against its schema, after a bounded walk of its
 * shape: too deep or too large is refused before the schema sees it (one reason, cheap
 * for any size); text that cannot be stored (control characters, lone surrogates) is
 * reported per field, with the schema's own reasons for the other fields. The reason list
 * is bounded (REASON_LIMITS).
 */
export function checkPayload<P>(
  schema: z.ZodType<P, z.ZodTypeDef, unknown>,
  value: unknown,
  root: string,
): { success: true; data: P } | { success: false; reasons: FieldReason[] } {
  const shape = shapeProblemsOf(value, root, REASON_LIMITS.reasons);
  if (shape.tooLarge) return { success: false, reasons: [shape.tooLarge] };
  const checked = schema.safeParse(value);
  if (shape.total === 0) return checked.success ? { success: true, data: checked.data } : { success: false, reasons: fieldReasonsOf(checked.error, root) };
  // A field's own rule says best what is wrong with it ("did you mean …?" for a name with a
  // trailing newline); the walk speaks for the fields no rule refused (free text, unknown keys).
  const own = checked.success ? [] : fieldReasonsOf(checked.error, root);
  const fields = new Set(own.map((reason) => reason.field));
  const unstorable = shape.problems.filter((problem) => !fields.has(problem.field));
  return { success: false, reasons: boundReasons([...own, ...unstorable], countOf(own) + shape.total - (shape.problems.length - unstorable.length)) };
}

export const defineEvent = <T extends string, P>(spec: {
  type: T;
  version?: number;
  topic: string;
  schema: z.ZodType<P, z.ZodTypeDef, unknown>;
  /** A client's command answered by events, not by a success/failure pair (see `MessageDefinition.startsSaga`). */
  startsSaga?: boolean;
}): MessageDefinition<T, P> => define('event', spec);

/** `failure` may be left out when the failure event carries the generic failure alone. */
export function defineCommand<T extends string, P, S, F extends Failure = Failure>(spec: {
  type: T;
  version?: number;
  topic: string;
  schema: z.ZodType<P, z.ZodTypeDef, unknown>;
  succeeded: MessageDefinition<string, S>;
  failed: MessageDefinition<string, F>;
  failure?: (payload: P, failure: Failure) => F;
}): CommandDefinition<T, P, S, F> {
  const failure = spec.failure ?? ((_payload: P, generic: Failure) => generic as F);
  return { ...define('command', spec), kind: 'command', succeeded: spec.succeeded, failed: spec.failed, failure };
}
