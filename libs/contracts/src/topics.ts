import { dlqTopicOf } from '@sitesaga/message-kit';

/**
 * Every Kafka topic of the system, in one place. Nothing else spells a topic name:
 * a typo here is a compile error, not an auto-created topic.
 */
export const Topics = {
  siteSagaCommands: 'site-saga.commands',
  siteSagaEvents: 'site-saga.events',
  sitesCommands: 'sites.commands',
  sitesEvents: 'sites.events',
  storageCommands: 'storage.commands',
  storageEvents: 'storage.events',
  databasesCommands: 'databases.commands',
  databasesEvents: 'databases.events',
  bootstrapCommands: 'bootstrap.commands',
  bootstrapEvents: 'bootstrap.events',
} as const;

export type Topic = (typeof Topics)[keyof typeof Topics];

export const ALL_TOPICS: readonly Topic[] = Object.values(Topics);

/** Every topic the system needs created, the dead-letter topics included. */
export const ALL_TOPICS_WITH_DLQ: readonly string[] = ALL_TOPICS.flatMap((topic) => [topic, dlqTopicOf(topic)]);

export const isKnownTopic = (topic: string): boolean => ALL_TOPICS_WITH_DLQ.includes(topic);
