import { type Envelope, defineCatalogue, type MessageDefinition, nameBasedId } from '@sitesaga/message-kit';
import * as inventory from './inventory';
import * as participants from './participants';
import * as siteSaga from './site-saga';

const isDefinition = (value: unknown): value is MessageDefinition =>
  typeof value === 'object' && value !== null && 'type' in value && 'schema' in value && 'topic' in value;

/**
 * The saga id the orchestrator assigns to a client command that names none: derived from
 * the command's id (a name-based UUID), so the same command sent twice names one saga.
 */
export const sagaIdFor = (messageId: string): string => nameBasedId('site-saga', messageId);

/** Every message of the site platform, commands with their reply events: what every service hands its messaging module. */
export const SITE_CATALOGUE = defineCatalogue({
  messages: [
    ...(Object.values(siteSaga) as unknown[]).filter(isDefinition),
    ...(Object.values(participants) as unknown[]).filter(isDefinition),
    ...(Object.values(inventory) as unknown[]).filter(isDefinition),
  ],
  assignSagaId: sagaIdFor,
});

export const ALL_MESSAGES: readonly MessageDefinition[] = SITE_CATALOGUE.messages;
export const definitionOf = (type: string, version: number): MessageDefinition | undefined => SITE_CATALOGUE.definitionOf(type, version);
/** `SITE_CATALOGUE.parseEnvelope`: raw bytes to an envelope of the site platform. */
export const parseEnvelope = (raw: Buffer | string | null): Envelope => SITE_CATALOGUE.parseEnvelope(raw);
/** `SITE_CATALOGUE.validate`. */
export const validateMessage = (envelope: Envelope, topic?: string): Envelope => SITE_CATALOGUE.validate(envelope, topic);
