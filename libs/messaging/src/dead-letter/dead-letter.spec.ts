import type { KafkaMessage } from 'kafkajs';
import { isNonRetriableKafkaError, kafkaErrorKind } from '../kafka/producer-errors';
import { MAX_RECORD_BYTES, recordBytes, truncateUtf8 } from '../kafka/record-limits';
import { boundReasons, deadLetterRecord } from './dead-letter';

const message = (value: string, headers: KafkaMessage['headers'] = {}): KafkaMessage =>
  ({ key: Buffer.from('key'), value: Buffer.from(value), headers, offset: '42', timestamp: '0', attributes: 0 }) as KafkaMessage;
const letter = (value: string, reasons: number, headers: KafkaMessage['headers'] = {}) => ({
  topic: 'site-saga.commands',
  partition: 1,
  message: message(value, headers),
  consumerGroup: 'site-saga',
  error: `invalid: ${'x'.repeat(100_000)}`,
  reasons: Array.from({ length: reasons }, (_, index) => ({ field: `payload.k${index}`, message: 'Unrecognized key' })),
});

describe('dead-letter records are bounded', () => {
  it('keeps the first 20 reasons and sums up the rest, naming the detail row', () => {
    const bounded = boundReasons(letter('{}', 60_000).reasons, '7');
    expect(bounded).toHaveLength(21);
    expect(bounded[20]).toEqual({ field: '(more)', message: 'and 59980 more (all of them in dead_letters row 7)' });
    expect(boundReasons(letter('{}', 3).reasons)).toHaveLength(3);
  });

  it('keeps the original value while the record stays under the limit', () => {
    const { topic, message: record } = deadLetterRecord({ ...letter('{"a":1}', 1), topicPrefix: 'p.' }, '9');
    expect(topic).toBe('p.site-saga.commands.dlq');
    expect(record.value?.toString()).toBe('{"a":1}');
    expect(record.headers?.['dlq-detail-id']).toBe('9');
    expect(record.headers?.['dlq-value-omitted']).toBeUndefined();
    expect(Buffer.byteLength(String(record.headers?.['dlq-error']))).toBeLessThanOrEqual(8 * 1024);
  });

  it('omits a value that would make the record pass the limit, and says so', () => {
    const value = 'v'.repeat(MAX_RECORD_BYTES - 100);
    const { message: record } = deadLetterRecord(letter(value, 60_000), '9');
    expect(record.value).toBeNull();
    expect(record.headers?.['dlq-value-omitted']).toBe(String(value.length));
    expect(recordBytes(record)).toBeLessThan(MAX_RECORD_BYTES);
  });

  it('drops original headers that are too big to copy', () => {
    const { message: record } = deadLetterRecord(letter('{}', 0, { big: 'h'.repeat(100_000), small: 's' }), null);
    expect(record.headers?.big).toBeUndefined();
    expect(record.headers?.['dlq-headers-omitted']).toBe('2');
  });
});

describe('record limits', () => {
  it('cuts UTF-8 text at a character boundary', () => {
    const cut = truncateUtf8('ééééé', 5, '');
    expect(cut).toBe('éé');
    expect(truncateUtf8('short', 100)).toBe('short');
  });
});

describe('producer errors', () => {
  it('tells a non-retriable kafkajs error through its causes', () => {
    const tooLarge = Object.assign(new Error('larger than the max'), { name: 'KafkaJSProtocolError', type: 'MESSAGE_TOO_LARGE', retriable: false });
    const wrapped = Object.assign(new Error('larger than the max'), { name: 'KafkaJSNonRetriableError', retriable: false, cause: tooLarge });
    expect(isNonRetriableKafkaError(wrapped)).toBe(true);
    expect(kafkaErrorKind(wrapped)).toBe('MESSAGE_TOO_LARGE');
    expect(isNonRetriableKafkaError(Object.assign(new Error('not the leader'), { retriable: true }))).toBe(false);
    expect(isNonRetriableKafkaError(new Error('plain'))).toBe(false);
  });
});
