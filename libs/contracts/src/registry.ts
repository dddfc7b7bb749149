import type { Envelope } from './envelope';
import type { CommandDefinition, MessageDefinition } from './message';
import * as participants from './participants';
import * as siteSaga from './site-saga';
import { ContractViolation } from './validation';

const isDefinition = (value: unknown): value is MessageDefinition =>
  typeof value === 'object' && value !== null && 'type' in value && 'schema' in value && 'topic' in value;

const commands = (Object.values(participants) as unknown[]).filter(isDefinition) as CommandDefinition[];

/** Every message definition of the system, commands with their reply events. */
export const ALL_MESSAGES: readonly MessageDefinition[] = [
  ...(Object.values(siteSaga) as unknown[]).filter(isDefinition),
  ...commands.flatMap((command) => [command, command.succeeded, command.failed]),
];

const byKey = new Map(ALL_MESSAGES.map((definition) => [`${definition.type}@${definition.version}`, definition]));
const knownTypes = new Set(ALL_MESSAGES.map((definition) => definition.type));

export const definitionOf = (type: string, version: number): MessageDefinition | undefined => byKey.get(`${type}@${version}`);

/**
 * Validates an envelope's type, version, topic and payload against the contracts.
 * Throws ContractViolation with field reasons; returns the envelope with its payload normalised.
 */
export function validateMessage(envelope: Envelope, topic?: string): Envelope {
  const definition = definitionOf(envelope.type, envelope.version);
  if (!definition) {
    const message = knownTypes.has(envelope.type) ? `unsupported version ${envelope.version} of ${envelope.type}` : `unknown message type ${envelope.type}`;
    throw new ContractViolation('unknown message', [{ field: knownTypes.has(envelope.type) ? 'version' : 'type', message }]);
  }
  if (topic !== undefined && definition.topic !== topic) {
    throw new ContractViolation('misrouted message', [{ field: 'type', message: `${envelope.type} belongs on ${definition.topic}, not ${topic}` }]);
  }
  return definition.parse(envelope);
}
