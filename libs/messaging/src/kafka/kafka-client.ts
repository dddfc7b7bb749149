import { connect as tcpConnect, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Kafka, type ISocketFactory, type KafkaConfig, logLevel, Partitioners, type Producer, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { MessagingConfig } from '../config/messaging-config';

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** The SASL mechanisms a service may use (KAFKA_SASL_MECHANISM, case-insensitive). */
export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

/**
 * How the service proves itself to the broker: SASL (KAFKA_SASL_MECHANISM: scram-sha-256,
 * scram-sha-512 or plain, with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD — one
 * principal per service, which the broker's topic ACLs name, see infra/kafka-acls.md) and
 * TLS (KAFKA_SSL=1). Nothing when unset (a local broker). The password stays out of every
 * log line and of MessagingConfig.
 */
export function kafkaSecurityFromEnv(env: NodeJS.ProcessEnv = process.env): Pick<KafkaConfig, 'sasl' | 'ssl'> {
  const ssl = env.KAFKA_SSL === '1' ? { ssl: true } : {};
  const mechanism = env.KAFKA_SASL_MECHANISM?.trim().toLowerCase();
  if (!mechanism) return ssl;
  if (!(SASL_MECHANISMS as readonly string[]).includes(mechanism)) {
    throw new Error(`KAFKA_SASL_MECHANISM must be one of ${SASL_MECHANISMS.join(', ')}, got "${mechanism.slice(0, 40)}"`);
  }
  const username = env.KAFKA_SASL_USERNAME ?? '';
  const password = env.KAFKA_SASL_PASSWORD ?? '';
  if (!username || !password) throw new Error('KAFKA_SASL_MECHANISM needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD');
  return { ...ssl, sasl: { mechanism, username, password } as SASLOptions };
}

/**
 * kafkajs's own socket factory with Nagle's algorithm off. kafkajs leaves it on, so a
 * request written while an earlier one on the same connection is still unacknowledged (a
 * long-polling fetch beside an offset commit or a heartbeat, two produces in flight) waits
 * for the broker's delayed ACK: up to 40 ms on Linux, where a round trip is ~1 ms. The broker
 * already sets TCP_NODELAY on its side.
 */
export const noDelaySocketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl
    ? tlsConnect({ host, port, ...(isIP(host) ? {} : { servername: host }), ...(ssl as object) }, onConnect)
    : tcpConnect({ host, port }, onConnect);
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 60_000);
  return socket;
};

/** One kafkajs client per process, logging through pino; SASL and TLS from the environment (kafkaSecurityFromEnv). */
export function createKafka(config: MessagingConfig, logger: Logger, security: Pick<KafkaConfig, 'sasl' | 'ssl'> = kafkaSecurityFromEnv()): Kafka {
  return new Kafka({
    clientId: config.service,
    brokers: config.brokers,
    ...security,
    socketFactory: noDelaySocketFactory,
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

/**
 * The producer of dead letters: with a bounded number of retries, because a dead letter
 * the DLQ cannot take is parked in the `dead_letters` table and the partition moves on
 * (DeadLetterer), instead of holding the partition for as long as the broker is away. Not
 * idempotent: a dead letter twice on the DLQ is harmless (each names its offset and its
 * dead_letters row), while an idempotent producer with bounded retries can lose its
 * sequence and would need replacing after every outage.
 */
export const createDeadLetterProducer = (kafka: Kafka): Producer =>
  kafka.producer({
    idempotent: false,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: 6, initialRetryTime: 300, maxRetryTime: 5_000 },
  });

/**
 * Disconnects a producer that must not be reused (see `isNonRetriableKafkaError`) and
 * connects a fresh one in its place. A failed disconnect is only logged: the old one is
 * dropped either way.
 */
export async function replaceProducer(old: Producer | null, create: () => Producer, logger: Logger, why: unknown): Promise<Producer> {
  logger.warn({ err: why }, 'replacing a producer left in a bad state by a failed send');
  await old?.disconnect().catch((error: unknown) => logger.warn({ err: error }, 'disconnecting the replaced producer failed'));
  const fresh = create();
  await fresh.connect();
  return fresh;
}
