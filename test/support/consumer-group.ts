import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';

/**
 * A consumer group of its own for a service under test (pass it as KAFKA_GROUP_ID),
 * committed at the current end of `topics`: the service then handles only what the test
 * sends from now on, never the history of the shared topics, and never shares partitions
 * with a service another test run started under the default group.
 */
export async function consumerGroupAtEnd(kafka: Kafka, prefix: string, topics: readonly string[]): Promise<{ groupId: string; drop: () => Promise<void> }> {
  const groupId = `${prefix}-${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const topic of topics) {
      const offsets = await admin.fetchTopicOffsets(topic);
      await admin.setOffsets({ groupId, topic, partitions: offsets.map(({ partition, high }) => ({ partition, offset: high })) });
    }
  } finally {
    await admin.disconnect();
  }
  return {
    groupId,
    drop: async () => {
      const dropper = kafka.admin();
      await dropper.connect();
      await dropper.deleteGroups([groupId]).catch(() => undefined); // still has members when a service was killed: expires on its own
      await dropper.disconnect();
    },
  };
}
