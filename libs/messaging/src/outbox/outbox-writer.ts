import { type Catalogue, type Envelope, envelopeHeaders } from '@sitesaga/message-kit';
import { escapeLiteral } from 'pg';
import type { MessageScope } from '../correlation';
import { hopHeaders } from '../observability/hops';
import { TRACEPARENT_HEADER } from '../observability/tracing';

export { envelopeHeaders };

/** One outbox row as the unit of work writes it, and as the relay publishes it. */
export interface OutboxRecord {
  readonly messageId: string;
  readonly topic: string;
  readonly key: string;
  readonly type: string;
  readonly value: string;
  readonly headers: Record<string, string>;
}

/** A committed outbox row with its position: what the unit of work hands the relay at commit. */
export interface CommittedOutboxRecord extends OutboxRecord {
  readonly position: string;
}

/**
 * The rows for `envelopes`. The topic comes from the message's contract, never from the
 * caller, and the Kafka key is the saga id, so one saga's messages stay in order on one
 * partition.
 */
export function outboxRecords(envelopes: readonly Envelope[], catalogue: Catalogue, extraHeaders?: Readonly<Record<string, string>>): OutboxRecord[] {
  return envelopes.map((envelope) => {
    const definition = catalogue.definitionOf(envelope.type, envelope.version);
    if (!definition) throw new Error(`no contract for ${envelope.type} v${envelope.version}: refusing to publish it`);
    const headers = extraHeaders ? { ...envelopeHeaders(envelope), ...extraHeaders } : envelopeHeaders(envelope);
    return { messageId: envelope.id, topic: definition.topic, key: envelope.sagaId, type: envelope.type, value: JSON.stringify(envelope), headers };
  });
}

/**
 * The headers a unit of work adds to the messages it writes now, handling the message of
 * `scope` (or none): the per-hop timings (observability/hops.ts) and, when tracing is
 * on, the traceparent of the span handling it.
 */
export function outboxHopHeaders(at: number, scope: MessageScope | undefined): Record<string, string> {
  const headers = hopHeaders(at, scope?.hops);
  if (scope?.traceparent) headers[TRACEPARENT_HEADER] = scope.traceparent;
  return headers;
}

/**
 * The outbox INSERT as one literal SQL statement, so it can travel in the same round
 * trip as the COMMIT (the simple query protocol takes several statements, but no
 * parameters). Every value is quoted with pg's `escapeLiteral`. It returns each row's
 * position and message id, so the rows can be handed to the relay at commit.
 */
export function outboxInsertSql(records: readonly OutboxRecord[]): string | null {
  if (records.length === 0) return null;
  const rows = records.map((record) => {
    const values = [record.messageId, record.topic, record.key, record.type, record.value, JSON.stringify(record.headers)];
    return `(${values.map(escapeLiteral).join(', ')})`;
  });
  return `INSERT INTO outbox_messages (message_id, topic, message_key, type, value, headers) VALUES ${rows.join(', ')} RETURNING position::text AS position, message_id`;
}

/** Marks published rows sent, as a literal statement that can ride along with a COMMIT. */
export function outboxMarkSentSql(positions: readonly string[]): string | null {
  const valid = positions.filter((position) => /^[0-9]+$/.test(position));
  if (valid.length === 0) return null;
  return `UPDATE outbox_messages SET sent_at = now() WHERE position IN (${valid.join(', ')}) AND sent_at IS NULL`;
}
