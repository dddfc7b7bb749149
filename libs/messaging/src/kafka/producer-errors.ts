/**
 * What a failed produce says about the producer and the record.
 *
 * kafkajs marks its errors `retriable`; it retries those itself, so what reaches us from
 * `send` is either non-retriable (a record the broker refuses, a fenced or out-of-sequence
 * idempotent producer, a broken protocol state) or retries given up. Both leave an
 * idempotent producer in a state that must not be reused: its sequence numbers may no
 * longer match the broker's, and every later send can fail with
 * OUT_OF_ORDER_SEQUENCE_NUMBER until it is recreated.
 */
export function isNonRetriableKafkaError(error: unknown): boolean {
  for (let current = error, depth = 0; typeof current === 'object' && current !== null && depth < 10; depth++) {
    const candidate = current as { name?: unknown; retriable?: unknown; cause?: unknown; originalError?: unknown };
    if (candidate.retriable === false) return true;
    if (candidate.name === 'KafkaJSNonRetriableError' || candidate.name === 'KafkaJSNumberOfRetriesExceeded') return true;
    current = candidate.cause ?? candidate.originalError;
  }
  return false;
}

/** The kafkajs error type (e.g. MESSAGE_TOO_LARGE) or name, for logs and parked reasons. */
export function kafkaErrorKind(error: unknown): string {
  for (let current = error, depth = 0; typeof current === 'object' && current !== null && depth < 10; depth++) {
    const candidate = current as { type?: unknown; cause?: unknown; originalError?: unknown };
    if (typeof candidate.type === 'string') return candidate.type;
    const next = candidate.cause ?? candidate.originalError;
    if (next === undefined) break;
    current = next;
  }
  return error instanceof Error ? error.name : 'unknown';
}
