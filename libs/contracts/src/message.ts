import { z } from 'zod';
import { type Causation, type Envelope, envelopeSchema, envelopeText, newMessageId, sagaIdFor } from './envelope';
import type { Topic } from './topics';
import { diagnosticText, shapeProblemsOf } from './storable-text';
import { boundReasons, ContractViolation, countOf, type FieldReason, fieldReasonsOf, REASON_LIMITS } from './validation';

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
    reason: diagnosticText(2000, 1),
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

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses raw bytes into an envelope; throws ContractViolation with (bounded) field
 * reasons. Bytes that are not UTF-8 are refused, not patched with U+FFFD: an id or name
 * silently rewritten would be another id or name than the one sent.
 */
export function parseEnvelope(raw: Buffer | string | null): Envelope {
  if (raw === null) throw new ContractViolation('unreadable message', [{ field: '(value)', message: 'empty message value' }]);
  let text: string;
  try {
    text = typeof raw === 'string' ? raw : utf8.decode(raw);
  } catch {
    throw new ContractViolation('unreadable message', [{ field: '(value)', message: 'not UTF-8 text' }]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
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
