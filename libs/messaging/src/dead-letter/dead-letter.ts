import { dlqTopicOf, type FieldReason } from '@sitesaga/contracts';
import type { IHeaders, KafkaMessage, Producer } from 'kafkajs';

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

/**
 * Sends a message that cannot be handled to `<topic>.dlq`: the original key, value and
 * headers, plus the error and where the message came from. Awaited before the offset is
 * committed, so a message is never both skipped and absent from the DLQ.
 */
export async function sendToDeadLetter(producer: Producer, letter: DeadLetter): Promise<string> {
  const topic = `${letter.topicPrefix ?? ''}${dlqTopicOf(letter.topic)}`;
  const headers: IHeaders = {
    ...(letter.message.headers ?? {}),
    'dlq-error': letter.error.slice(0, 4000),
    'dlq-reasons': JSON.stringify(letter.reasons ?? []),
    'dlq-original-topic': letter.topic,
    'dlq-original-partition': String(letter.partition),
    'dlq-original-offset': letter.message.offset,
    'dlq-consumer-group': letter.consumerGroup,
    'dlq-failed-at': new Date().toISOString(),
  };
  await producer.send({ topic, acks: -1, messages: [{ key: letter.message.key, value: letter.message.value, headers }] });
  return topic;
}
