import { type Catalogue, type Envelope, envelopeHeaders } from '@sitesaga/message-kit';
import { escapeLiteral } from 'pg';

export { envelopeHeaders };

/**
 * The outbox INSERT as one literal SQL statement, so it can travel in the same round
 * trip as the COMMIT (the simple query protocol takes several statements, but no
 * parameters). Every value is quoted with pg's `escapeLiteral`. The topic comes from the
 * message's contract, never from the caller, and the Kafka key is the saga id, so one
 * saga's messages stay in order on one partition.
 */
export function outboxInsertSql(envelopes: readonly Envelope[], catalogue: Catalogue): string | null {
  if (envelopes.length === 0) return null;
  const rows = envelopes.map((envelope) => {
    const definition = catalogue.definitionOf(envelope.type, envelope.version);
    if (!definition) throw new Error(`no contract for ${envelope.type} v${envelope.version}: refusing to publish it`);
    const values = [envelope.id, definition.topic, envelope.sagaId, envelope.type, JSON.stringify(envelope), JSON.stringify(envelopeHeaders(envelope))];
    return `(${values.map(escapeLiteral).join(', ')})`;
  });
  return `INSERT INTO outbox_messages (message_id, topic, message_key, type, value, headers) VALUES ${rows.join(', ')}`;
}
