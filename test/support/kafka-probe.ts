import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { noDelaySocketFactory } from '@sitesaga/messaging';
import { waitFor } from './wait-for';

export const testKafka = (clientId = 'test'): Kafka =>
  new Kafka({ clientId, brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), logLevel: logLevel.NOTHING, socketFactory: noDelaySocketFactory });

/**
 * Records every message of some topics from now on, in its own consumer group, so a
 * test can assert on what reached Kafka (a DLQ entry, a duplicate, an event).
 */
export async function recordTopics(
  kafka: Kafka,
  topics: string[],
  onMessage?: (message: KafkaMessage & { topic: string }) => void,
): Promise<{ messages: (KafkaMessage & { topic: string })[]; stop: () => Promise<void> }> {
  const messages: (KafkaMessage & { topic: string })[] = [];
  const groupId = `probe-${randomUUID()}`;
  // Start at the current end of each topic: a shared broker's history is not this test's,
  // and reading it first would only delay what the test waits for.
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const topic of topics) {
      // A topic created a moment ago may still answer "not the leader": ask again until it settles.
      const offsets = await waitFor(() => admin.fetchTopicOffsets(topic), { within: '30s', what: `offsets of ${topic}`, interval: 200 });
      await admin.setOffsets({ groupId, topic, partitions: offsets.map(({ partition, high }) => ({ partition, offset: high })) });
    }
  } finally {
    await admin.disconnect();
  }
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    // One OffsetCommit a second, not one per fetched batch (kafkajs's default): the probe
    // must not load the broker it observes.
    autoCommitInterval: 1_000,
    eachMessage: async ({ topic, message }) => {
      const recorded = { ...message, topic };
      messages.push(recorded);
      onMessage?.(recorded);
    },
  });
  return { messages, stop: () => consumer.disconnect() };
}

export const headerOf = (message: KafkaMessage, name: string): string | undefined => message.headers?.[name]?.toString();
