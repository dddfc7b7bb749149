/**
 * Outbox relay latency: commit of a unit of work → message on Kafka (publish, acked) and
 * → message consumed by a plain kafkajs consumer. Prints p50/p99; asserts nothing.
 *
 *   pnpm bench:outbox [-- --messages 2000 --concurrency 8]
 *
 * Uses KAFKA_BROKERS and DATABASE_URL when set, else starts the local broker and Postgres.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ProvisionStorage, SITE_CATALOGUE, Topics } from '@sitesaga/contracts';
import { createKafka, createOutboxProducer } from '@sitesaga/messaging';
import { messagingConfigFromEnv } from '@sitesaga/messaging';
import { MessagingMetrics } from '@sitesaga/messaging';
import { OutboxRelay } from '@sitesaga/messaging';
import { UnitOfWork } from '@sitesaga/messaging';
import { CreateMessagingTables1732400000000 } from '@sitesaga/messaging';
import { Registry } from 'prom-client';
import pino from 'pino';
import { DataSource } from 'typeorm';
import { freshDatabase } from '../../test/support/fresh-database';
import { withLocalInfrastructure } from './local-infrastructure';

const { values } = parseArgs({ args: process.argv.slice(2).filter((arg) => arg !== '--'), options: { messages: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '8' } } });
const total = Number(values.messages);
const concurrency = Number(values.concurrency);

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const summary = (label: string, samples: number[]): string => {
  const sorted = [...samples].sort((a, b) => a - b);
  return `${label.padEnd(28)} n=${sorted.length}  p50=${percentile(sorted, 50).toFixed(2)} ms  p90=${percentile(sorted, 90).toFixed(2)} ms  p99=${percentile(sorted, 99).toFixed(2)} ms  max=${sorted[sorted.length - 1]?.toFixed(2)} ms`;
};

async function main(): Promise<void> {
  const logger = pino({ level: 'warn' });
  const database = await freshDatabase('bench_outbox');
  const dataSource = new DataSource({ type: 'postgres', url: database.url, migrations: [CreateMessagingTables1732400000000], extra: { max: concurrency + 2 } });
  await dataSource.initialize();
  await dataSource.runMigrations();
  const config = messagingConfigFromEnv(`bench-outbox-${randomUUID().slice(0, 8)}`);
  const kafka = createKafka(config, logger);
  const producer = createOutboxProducer(kafka);
  await producer.connect();
  const metrics = new MessagingMetrics(new Registry());
  const relay = new OutboxRelay({ dataSource, producer, connectionString: database.url, logger, pollMs: 1000, batchSize: 500, retentionMs: 3_600_000, metrics });
  const unitOfWork = new UnitOfWork(dataSource, { consumer: 'bench', catalogue: SITE_CATALOGUE, logger, onOutboxWritten: () => relay.wake(), backoff: config.handlerBackoff });
  relay.start();

  const committedAt = new Map<string, number>();
  const consumeLatency: number[] = [];
  let resolveAll!: () => void;
  const allConsumed = new Promise<void>((resolve) => (resolveAll = resolve));
  const consumer = kafka.consumer({ groupId: `bench-${randomUUID()}`, allowAutoTopicCreation: false, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [Topics.storageCommands], fromBeginning: false });
  let joined!: () => void;
  const groupJoined = new Promise<void>((resolve) => (joined = resolve));
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  await consumer.run({
    partitionsConsumedConcurrently: 6,
    eachMessage: async ({ message }) => {
      const id = message.headers?.['message-id']?.toString();
      const at = id ? committedAt.get(id) : undefined;
      if (at === undefined) return;
      consumeLatency.push(performance.now() - at);
      committedAt.delete(id!);
      if (consumeLatency.length === total) resolveAll();
    },
  });
  await groupJoined;

  // Warm up connections and the relay's leadership with a few messages not measured.
  for (let i = 0; i < 20; i++) {
    const sagaId = randomUUID();
    await unitOfWork.run(null, async (tx) => tx.publish(ProvisionStorage.create({ siteId: sagaId }, { sagaId, correlationId: sagaId, causationId: null })));
  }

  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      next += 1;
      const sagaId = randomUUID();
      const envelope = ProvisionStorage.create({ siteId: sagaId }, { sagaId, correlationId: sagaId, causationId: null });
      await unitOfWork.run(null, async (tx) => {
        tx.publish(envelope);
        // Stamped as the transaction is about to commit: the relay may publish it, and the
        // consumer see it, before run() has even returned.
        committedAt.set(envelope.id, performance.now());
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const committed = performance.now();
  await Promise.race([allConsumed, new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${consumeLatency.length}/${total} consumed in 60 s`)), 60_000))]);
  const finished = performance.now();

  const lag = (await metrics.outboxLag.get()).values;
  const lagCount = lag.find((value) => value.metricName === 'outbox_lag_seconds_count')?.value ?? 0;
  console.log(`outbox relay benchmark: ${total} messages, ${concurrency} concurrent writers, one unit of work per message`);
  console.log(summary('commit → consumed', consumeLatency));
  console.log(`throughput                   ${((total / (finished - started)) * 1000).toFixed(0)} msg/s end to end (commits took ${(committed - started).toFixed(0)} ms)`);
  console.log(`relay published              ${lagCount} messages (warm-up included)`);

  await consumer.disconnect();
  await relay.stop();
  await producer.disconnect();
  await dataSource.destroy();
  await database.drop();
}

withLocalInfrastructure(main).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
