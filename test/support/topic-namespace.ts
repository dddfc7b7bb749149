import { randomBytes } from 'node:crypto';
import { ALL_TOPICS_WITH_DLQ } from '@sitesaga/contracts';
import type { Kafka } from 'kafkajs';

/**
 * A private copy of every topic (`<prefix><topic>`) for one test file: services started
 * with KAFKA_TOPIC_PREFIX=<prefix> see only this file's messages, even while other files
 * run their own services against the same broker.
 */
export interface TopicNamespace {
  readonly prefix: string;
  /** The wire name of a contract topic. */
  topic(name: string): string;
  drop(): Promise<void>;
}

export async function createTopicNamespace(kafka: Kafka, label: string, partitions = 3): Promise<TopicNamespace> {
  const prefix = `t-${label}-${randomBytes(3).toString('hex')}.`;
  const topics = ALL_TOPICS_WITH_DLQ.map((topic) => `${prefix}${topic}`);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })) });
  } finally {
    await admin.disconnect();
  }
  return {
    prefix,
    topic: (name) => `${prefix}${name}`,
    drop: async () => {
      const dropper = kafka.admin();
      await dropper.connect();
      await dropper.deleteTopics({ topics }).catch(() => undefined);
      await dropper.disconnect();
    },
  };
}
