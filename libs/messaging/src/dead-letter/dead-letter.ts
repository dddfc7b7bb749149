import { dlqTopicOf, type FieldReason } from '@sitesaga/message-kit';
import type { IHeaders, KafkaMessage, Message, Producer } from 'kafkajs';
import { headerBytes, MAX_RECORD_BYTES, recordBytes, truncateUtf8 } from '../kafka/record-limits';

export interface DeadLetter {
  /** The contract's topic name. */
  readonly topic: string;
  /** KAFKA_TOPIC_PREFIX of the wire names. */
  readonly topicPrefix?: string;
  readonly partition: number;
  readonly message: KafkaMessage;
  readonly consumerGroup: string;
  readonly error: string;
  readonly reasons?: readonly FieldReason[];
}

/** How much of an error report a DLQ record carries; the rest is in `dead_letters`. */
export const DLQ_LIMITS = {
  /** Characters of `dlq-error` (the AsyncAPI contract says 4000), also capped in bytes. */
  errorChars: 4_000,
  errorBytes: 8 * 1024,
  /** Reasons listed in `dlq-reasons`; more are summed up as one "and N more" entry. */
  reasons: 20,
  reasonFieldBytes: 200,
  reasonMessageBytes: 300,
  /** The original headers are copied only while they stay this small. */
  originalHeadersBytes: 64 * 1024,
  record: MAX_RECORD_BYTES,
} as const;

/** The first reasons, each cut short, then one entry that says how many were left out. */
export function boundReasons(reasons: readonly FieldReason[], detailId?: string | null): FieldReason[] {
  const kept = reasons.slice(0, DLQ_LIMITS.reasons).map((reason) => ({
    field: truncateUtf8(String(reason.field), DLQ_LIMITS.reasonFieldBytes),
    message: truncateUtf8(String(reason.message), DLQ_LIMITS.reasonMessageBytes),
  }));
  const more = reasons.length - kept.length;
  if (more > 0) {
    const where = detailId ? ` (all of them in dead_letters row ${detailId})` : '';
    kept.push({ field: '(more)', message: `and ${more} more${where}` });
  }
  return kept;
}

export const boundError = (error: string): string => truncateUtf8(error.slice(0, DLQ_LIMITS.errorChars), DLQ_LIMITS.errorBytes);

/**
 * The DLQ record for a letter, bounded whatever the input: at most 20 reasons, a short
 * error, the original headers only if small, and the original value only if the whole
 * record stays under `MAX_RECORD_BYTES` (else `dlq-value-omitted` says so and the value
 * is in the `dead_letters` row named by `dlq-detail-id`).
 */
export function deadLetterRecord(letter: DeadLetter, detailId: string | null): { topic: string; message: Message } {
  const topic = `${letter.topicPrefix ?? ''}${dlqTopicOf(letter.topic)}`;
  const original = letter.message.headers ?? {};
  const keepOriginal = headerBytes(original) <= DLQ_LIMITS.originalHeadersBytes;
  const headers: IHeaders = {
    ...(keepOriginal ? original : { 'dlq-headers-omitted': String(Object.keys(original).length) }),
    'dlq-error': boundError(letter.error),
    'dlq-reasons': JSON.stringify(boundReasons(letter.reasons ?? [], detailId)),
    'dlq-reason-count': String(letter.reasons?.length ?? 0),
    'dlq-original-topic': letter.topic,
    'dlq-original-partition': String(letter.partition),
    'dlq-original-offset': letter.message.offset,
    'dlq-consumer-group': letter.consumerGroup,
    'dlq-failed-at': new Date().toISOString(),
    ...(detailId ? { 'dlq-detail-id': detailId } : {}),
  };
  // A key is at most what the broker delivered; past a few KB it is not worth copying.
  const key = letter.message.key && letter.message.key.length <= 4096 ? letter.message.key : null;
  const message: Message = { key, value: letter.message.value, headers };
  if (recordBytes(message) > DLQ_LIMITS.record) {
    message.value = null;
    headers['dlq-value-omitted'] = String(letter.message.value?.length ?? 0);
  }
  return { topic, message };
}

/**
 * Sends a message that cannot be handled to `<topic>.dlq`: the original key, value and
 * headers (bounded, see `deadLetterRecord`), plus the error and where the message came
 * from. Awaited before the offset is committed, so a message is never both skipped and
 * absent from the DLQ (or, when that fails, from the `dead_letters` table: DeadLetterer).
 */
export async function sendToDeadLetter(producer: Producer, letter: DeadLetter, detailId: string | null = null): Promise<string> {
  const { topic, message } = deadLetterRecord(letter, detailId);
  await producer.send({ topic, acks: -1, messages: [message] });
  return topic;
}
