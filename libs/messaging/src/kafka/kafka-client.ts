import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { MessagingConfig } from '../config/messaging-config';

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** One kafkajs client per process, logging through pino. */
export function createKafka(config: MessagingConfig, logger: Logger): Kafka {
  return new Kafka({
    clientId: config.service,
    brokers: config.brokers,
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: 200, retries: 10, maxRetryTime: 10_000 },
    logCreator:
      () =>
      ({ level, log }) => {
        const { message, ...extra } = log;
        logger[levels[level] ?? 'info']({ kafkajs: extra }, message);
      },
  });
}

/**
 * The producer every outbox relay uses: idempotent (no duplicates from its own retries),
 * one request in flight (order per partition), never creating topics, and the
 * Java-compatible murmur2 partitioner so every client puts one saga on one partition.
 */
export const createOutboxProducer = (kafka: Kafka): Producer =>
  kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    // An idempotent producer must not give up on a send it may have half-done; the relay
    // above it keeps the row unsent until the send is acknowledged anyway.
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 5_000 },
  });
