import { definitionOf, type Envelope } from '@sitesaga/contracts';
import type { EntityManager } from 'typeorm';

/** Kafka headers that let a reader route or trace a message without parsing it. */
export const envelopeHeaders = (envelope: Envelope): Record<string, string> => ({
  'message-id': envelope.id,
  'message-type': envelope.type,
  'message-version': String(envelope.version),
  'saga-id': envelope.sagaId,
  'correlation-id': envelope.correlationId,
  ...(envelope.causationId ? { 'causation-id': envelope.causationId } : {}),
  'content-type': 'application/json',
});

/**
 * Writes messages to the outbox with one multi-row INSERT. The topic comes from the
 * message's contract, never from the caller, and the Kafka key is the saga id, so one
 * saga's messages stay in order on one partition.
 */
export async function writeOutbox(manager: EntityManager, envelopes: readonly Envelope[]): Promise<void> {
  if (envelopes.length === 0) return;
  const values: unknown[] = [];
  const rows = envelopes.map((envelope, index) => {
    const definition = definitionOf(envelope.type, envelope.version);
    if (!definition) throw new Error(`no contract for ${envelope.type} v${envelope.version}: refusing to publish it`);
    values.push(envelope.id, definition.topic, envelope.sagaId, envelope.type, JSON.stringify(envelope), envelopeHeaders(envelope));
    const base = index * 6;
    return `($${base + 1}, $${base + 2}, $${base + 3}, $${base + 4}, $${base + 5}, $${base + 6})`;
  });
  await manager.query(`INSERT INTO outbox_messages (message_id, topic, message_key, type, value, headers) VALUES ${rows.join(', ')}`, values);
}
