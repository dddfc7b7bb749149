import { type Envelope, envelopeSchema } from './envelope';
import type { CommandDefinition, MessageDefinition } from './define-message';
import { ContractViolation, fieldReasonsOf } from './validation';

/**
 * Every message a product speaks, as one value: a service hands its catalogue to the
 * messaging module, which reads, validates and routes by it. The kit knows no product:
 * the catalogue is where the product's messages come in.
 */
export interface Catalogue {
  /** Every message definition, commands with their reply events. */
  readonly messages: readonly MessageDefinition[];
  readonly commands: readonly CommandDefinition[];
  /** Every topic a message of the catalogue lives on. */
  readonly topics: readonly string[];
  definitionOf(type: string, version: number): MessageDefinition | undefined;
  /** The command `type` v`version`, or undefined when it is not a command of the catalogue. */
  commandOf(type: string, version: number): CommandDefinition | undefined;
  /**
   * Parses raw bytes into an envelope; throws ContractViolation with (bounded) field
   * reasons. A message that starts a saga (`startsSaga`) and names none gets the id
   * `assignSagaId` derives from its own id.
   */
  parseEnvelope(raw: Buffer | string | null): Envelope;
  /**
   * Validates an envelope's type, version, topic and payload against the catalogue.
   * Throws ContractViolation with field reasons; returns the envelope with its payload normalised.
   */
  validate(envelope: Envelope, topic?: string): Envelope;
}

export interface CatalogueSpec {
  /** Commands bring their reply events along; events are listed themselves. */
  readonly messages: readonly MessageDefinition[];
  /** The saga id of a saga-starting message that names none, from its envelope id (the same command sent twice names one saga). */
  readonly assignSagaId?: (messageId: string) => string;
}

const isCommand = (definition: MessageDefinition): definition is CommandDefinition => definition.kind === 'command';
const keyOf = (type: string, version: number): string => `${type}@${version}`;

export function defineCatalogue(spec: CatalogueSpec): Catalogue {
  const byKey = new Map<string, MessageDefinition>();
  const add = (definition: MessageDefinition) => {
    const key = keyOf(definition.type, definition.version);
    const known = byKey.get(key);
    if (known && known !== definition) throw new Error(`two definitions of ${definition.type} v${definition.version} in one catalogue`);
    byKey.set(key, definition);
  };
  for (const definition of spec.messages) {
    add(definition);
    if (isCommand(definition)) {
      add(definition.succeeded);
      add(definition.failed);
    }
  }
  const messages = [...byKey.values()];
  if (messages.some((definition) => definition.startsSaga) && !spec.assignSagaId) {
    throw new Error('a catalogue with saga-starting messages needs assignSagaId');
  }
  const knownTypes = new Set(messages.map((definition) => definition.type));
  const definitionOf = (type: string, version: number): MessageDefinition | undefined => byKey.get(keyOf(type, version));
  return {
    messages,
    commands: messages.filter(isCommand),
    topics: [...new Set(messages.map((definition) => definition.topic))],
    definitionOf,
    commandOf(type, version) {
      const definition = definitionOf(type, version);
      return definition && isCommand(definition) ? definition : undefined;
    },
    parseEnvelope(raw) {
      const { sagaId, ...rest } = readEnvelope(raw);
      if (sagaId !== undefined) return { ...rest, sagaId } as Envelope;
      // Any version of a saga-starting type may leave its saga id out: an unsupported
      // version is then refused for its version, not for a missing saga id.
      const starts = messages.some((definition) => definition.type === rest.type && definition.startsSaga);
      if (!starts || !spec.assignSagaId) throw new ContractViolation('invalid envelope', [{ field: 'sagaId', message: 'Required' }]);
      return { ...rest, sagaId: spec.assignSagaId(rest.id) } as Envelope;
    },
    validate(envelope, topic) {
      const definition = definitionOf(envelope.type, envelope.version);
      if (!definition) {
        const known = knownTypes.has(envelope.type);
        const message = known ? `unsupported version ${envelope.version} of ${envelope.type}` : `unknown message type ${envelope.type}`;
        throw new ContractViolation('unknown message', [{ field: known ? 'version' : 'type', message }]);
      }
      if (topic !== undefined && definition.topic !== topic) {
        throw new ContractViolation('misrouted message', [{ field: 'type', message: `${envelope.type} belongs on ${definition.topic}, not ${topic}` }]);
      }
      return definition.parse(envelope);
    },
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Raw bytes to a checked envelope whose saga id may be missing. Bytes that are not UTF-8
 * are refused, not patched with U+FFFD: an id or name silently rewritten would be another
 * id or name than the one sent.
 */
function readEnvelope(raw: Buffer | string | null): Omit<Envelope, 'sagaId'> & { sagaId?: string } {
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
  return checked.data as Omit<Envelope, 'sagaId'> & { sagaId?: string };
}
