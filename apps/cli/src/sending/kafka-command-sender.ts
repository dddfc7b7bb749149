import type { Envelope } from '@sitesaga/contracts';
import type { SASLOptions } from 'kafkajs';
import { ConnectionError } from '../cli-errors';
import type { KafkaSecurity } from '../cli-config';

export interface KafkaTarget {
  readonly brokers: readonly string[];
  /** KAFKA_TOPIC_PREFIX: prepended to the contract topic on the wire. */
  readonly topicPrefix: string;
  /** SASL/TLS (the CLI's principal); none for a local broker. */
  readonly security?: KafkaSecurity;
}

export interface SentCommand {
  readonly topic: string;
  readonly partition: number | null;
  readonly offset: string | null;
}

/**
 * Sends one client command to its topic, keyed by its saga id (one saga's messages stay
 * in order on one partition), waiting for every in-sync replica (acks -1). kafkajs is
 * loaded only here, so commands that do not use Kafka start fast.
 */
export async function sendCommand(target: KafkaTarget, contractTopic: string, envelope: Envelope): Promise<SentCommand> {
  const { Kafka, logLevel, Partitioners } = await import('kafkajs');
  const topic = `${target.topicPrefix}${contractTopic}`;
  const brokers = target.brokers.join(',');
  const kafka = new Kafka({
    clientId: 'saga-cli',
    brokers: [...target.brokers],
    ...(target.security?.ssl ? { ssl: true } : {}),
    ...(target.security?.sasl ? { sasl: { ...target.security.sasl } as SASLOptions } : {}),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 3_000 },
  });
  // The same partitioner as the services' outbox relay, so a key lands on the same partition.
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  try {
    await producer.connect();
  } catch (error) {
    throw new ConnectionError(`cannot reach Kafka at ${brokers}: ${(error as Error).message}`, ['set KAFKA_BROKERS, or send through the sites API: --via http']);
  }
  try {
    const [record] = await producer.send({ topic, acks: -1, messages: [{ key: envelope.sagaId, value: JSON.stringify(envelope) }] });
    return { topic, partition: record?.partition ?? null, offset: record?.baseOffset ?? null };
  } catch (error) {
    const message = (error as Error).message;
    const unknownTopic = /does not host this topic|UNKNOWN_TOPIC|not present in metadata/i.test(message);
    throw new ConnectionError(
      unknownTopic ? `Kafka at ${brokers} has no topic ${topic}` : `sending ${envelope.type} to ${topic} on ${brokers} failed: ${message}`,
      unknownTopic ? ['check KAFKA_TOPIC_PREFIX (the services must use the same one)'] : [],
    );
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}
