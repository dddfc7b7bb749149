import type { FieldReason } from '@sitesaga/message-kit';
import type { IHeaders } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { truncateUtf8 } from '../kafka/record-limits';
import type { DeadLetter } from './dead-letter';

/**
 * Bounds of a `dead_letters` row: the value is what Kafka delivered (≤ 1 MB); reasons are
 * kept whole up to far more than a 1 MB message can cause (each needs a few input bytes).
 */
const STORE_LIMITS = { error: 16_000, parkedReason: 4_000, reasons: 200_000, reasonText: 1_000 } as const;

/** Postgres refuses NUL in text and jsonb: replace it (and lone surrogates) before storing. */
const storable = (text: string): string =>
  text.replace(/\u0000/g, '\uFFFD').replace(/[\uD800-\uDFFF]/g, (char, index: number, all: string) => {
    const code = char.charCodeAt(0);
    const next = all.charCodeAt(index + 1);
    const previous = all.charCodeAt(index - 1);
    const paired = code < 0xdc00 ? next >= 0xdc00 && next <= 0xdfff : previous >= 0xd800 && previous < 0xdc00;
    return paired ? char : '\uFFFD';
  });

/** A header value as text when it is clean UTF-8 without NUL, else as base64. */
function storableHeaders(headers: IHeaders | undefined): { key: string; value: string | null; encoding: 'utf8' | 'base64' }[] {
  const rows: { key: string; value: string | null; encoding: 'utf8' | 'base64' }[] = [];
  for (const [key, raw] of Object.entries(headers ?? {})) {
    for (const item of Array.isArray(raw) ? raw : [raw]) {
      if (item === undefined || item === null) {
        rows.push({ key: storable(key), value: null, encoding: 'utf8' });
        continue;
      }
      const buffer = typeof item === 'string' ? Buffer.from(item) : (item as Buffer);
      const text = buffer.toString('utf8');
      const clean = Buffer.from(text).equals(buffer) && !text.includes('\u0000');
      rows.push({ key: storable(key), value: clean ? text : buffer.toString('base64'), encoding: clean ? 'utf8' : 'base64' });
    }
  }
  return rows;
}

export interface ParkedDeadLetter {
  readonly id: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly consumerGroup: string;
  readonly error: string;
  readonly parkedReason: string | null;
  readonly createdAt: Date;
}

/**
 * The `dead_letters` table: the full detail of each dead letter (the DLQ record carries a
 * bounded copy and this row's id), and the letters that could not be published at all.
 * One row per consumer group, topic, partition and offset: a redelivered message finds
 * its row again instead of adding one.
 */
export class DeadLetterStore {
  constructor(private readonly dataSource: DataSource) {}

  /** Stores the letter (or finds it stored already) and returns its id. */
  async record(letter: DeadLetter, outcome: string): Promise<string> {
    const reasons = (letter.reasons ?? []).slice(0, STORE_LIMITS.reasons).map((reason) => ({
      field: storable(truncateUtf8(String(reason.field), STORE_LIMITS.reasonText)),
      message: storable(truncateUtf8(String(reason.message), STORE_LIMITS.reasonText)),
    }));
    const more = (letter.reasons?.length ?? 0) - reasons.length;
    if (more > 0) reasons.push({ field: '(more)', message: `and ${more} more` });
    const rows = (await this.dataSource.query(
      `INSERT INTO dead_letters (consumer_group, topic, "partition", "offset", message_key, value, headers, error, reasons, outcome)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9::jsonb, $10)
       ON CONFLICT (consumer_group, topic, "partition", "offset") DO UPDATE SET error = EXCLUDED.error
       RETURNING id::text AS id`,
      [
        storable(letter.consumerGroup),
        storable(letter.topic),
        letter.partition,
        letter.message.offset,
        letter.message.key ?? null,
        letter.message.value ?? null,
        JSON.stringify(storableHeaders(letter.message.headers)),
        storable(letter.error.slice(0, STORE_LIMITS.error)),
        JSON.stringify(reasons as FieldReason[]),
        outcome,
      ],
    )) as { id: string }[];
    return rows[0]!.id;
  }

  async markPublished(id: string): Promise<void> {
    await this.dataSource.query(`UPDATE dead_letters SET published_at = now(), parked_reason = NULL WHERE id = $1`, [id]);
  }

  /** Keeps the letter in the table only: the DLQ refused it or could not be reached. */
  async park(id: string, reason: string): Promise<void> {
    await this.dataSource.query(`UPDATE dead_letters SET parked_reason = $2 WHERE id = $1 AND published_at IS NULL`, [
      id,
      storable(reason.slice(0, STORE_LIMITS.parkedReason)),
    ]);
  }
}

/** Dead letters that are only in the table (not on any DLQ topic), oldest first. */
export async function parkedDeadLetters(dataSource: DataSource, limit = 100): Promise<ParkedDeadLetter[]> {
  const rows = (await dataSource.query(
    `SELECT id::text AS id, topic, "partition", "offset"::text AS "offset", consumer_group, error, parked_reason, created_at
       FROM dead_letters WHERE published_at IS NULL ORDER BY id LIMIT $1`,
    [limit],
  )) as {
    id: string;
    topic: string;
    partition: number;
    offset: string;
    consumer_group: string;
    error: string;
    parked_reason: string | null;
    created_at: Date;
  }[];
  return rows.map((row) => ({
    id: row.id,
    topic: row.topic,
    partition: row.partition,
    offset: row.offset,
    consumerGroup: row.consumer_group,
    error: row.error,
    parkedReason: row.parked_reason,
    createdAt: row.created_at,
  }));
}
