import { randomBytes } from 'node:crypto';
import { ALL_TOPICS_WITH_DLQ } from '@sitesaga/contracts';
import type { Kafka } from 'kafkajs';
import { waitFor } from './wait-for';

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
    await admin.createTopics({ waitForLeaders: false, topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })) });
    // kafkajs' own wait gives up on "does not host this topic-partition", which a loaded
    // broker answers for a moment after creating a topic: wait for every leader ourselves.
    await waitFor(
      async () => {
        const { topics: described } = await admin.fetchTopicMetadata({ topics });
        return described.length === topics.length && described.every((topic) => topic.partitions.length === partitions && topic.partitions.every((p) => p.leader >= 0));
      },
      { within: '60s', what: `leaders for the ${topics.length} topics of ${prefix}*`, interval: 200 },
    );
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
