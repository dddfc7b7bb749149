/**
 * Jest globalSetup: brings up what the tests need, once per run, in the jest main process.
 *
 * - Kafka: KAFKA_BROKERS when set; otherwise a broker of this run's own on KAFKA_TEST_PORT
 *   (19092, never the dev broker's 9092; the next free pair when another live test run
 *   holds it), started here and stopped by global-teardown.ts.
 *   Every topic of libs/contracts/src/topics.ts (and its .dlq) is ensured either way.
 * - Postgres: the server at DATABASE_URL when it answers, else an embedded one.
 *
 * KAFKA_BROKERS and DATABASE_URL are exported into process.env, which the test workers
 * (forked after this runs) inherit.
 */
import { ensureTopics, startKafka, type KafkaBroker } from '../../scripts/local/kafka-broker';
import { ensurePostgres, type PostgresServer } from '../../scripts/local/postgres-server';

export interface TestInfrastructure {
  kafka?: KafkaBroker;
  postgres?: PostgresServer;
}

declare global {
  // eslint-disable-next-line no-var
  var __SITESAGA_TEST_INFRASTRUCTURE__: TestInfrastructure | undefined;
}

const log = (line: string) => process.stderr.write(`[global-setup] ${line}\n`);

export default async function globalSetup(): Promise<void> {
  const started: TestInfrastructure = {};
  globalThis.__SITESAGA_TEST_INFRASTRUCTURE__ = started;
  const startedAt = Date.now();
  try {
    const kafka = process.env.KAFKA_BROKERS
      ? Promise.resolve(process.env.KAFKA_BROKERS)
      : startKafka({ port: Number(process.env.KAFKA_TEST_PORT ?? 19092), exclusive: true, existingBrokers: '', log }).then((broker) => {
          started.kafka = broker;
          return broker.brokers;
        });
    const postgres = ensurePostgres(undefined, { log }).then((server) => {
      started.postgres = server;
      return server.databaseUrl;
    });
    // Both at once: the JVM start dominates, Postgres fits inside it.
    const [brokers, databaseUrl] = await Promise.all([kafka, postgres]);
    await ensureTopics(brokers);
    process.env.KAFKA_BROKERS = brokers;
    process.env.DATABASE_URL = databaseUrl;
    log(`Kafka ${brokers}${started.kafka?.startedHere ? ' (started)' : ''}, Postgres ${new URL(databaseUrl).host}${started.postgres?.embedded ? ' (embedded)' : ''}, ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  } catch (error) {
    // Jest runs no teardown when setup fails: stop what did start before giving up.
    await Promise.allSettled([started.kafka?.stop(), started.postgres?.stop()]);
    throw error;
  }
}
