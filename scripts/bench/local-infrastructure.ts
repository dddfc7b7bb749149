import { ensureTopics, startKafka } from '../local/kafka-broker';
import { ensurePostgres } from '../local/postgres-server';

/**
 * Runs `work` against KAFKA_BROKERS and DATABASE_URL, starting a local broker and an
 * embedded Postgres first when they do not answer, and stopping what it started after.
 */
export async function withLocalInfrastructure(work: () => Promise<void>): Promise<void> {
  const log = (line: string): void => console.error(line);
  const postgres = await ensurePostgres(process.env.DATABASE_URL, { log });
  const kafka = await startKafka({ log });
  await ensureTopics(kafka.brokers);
  process.env.DATABASE_URL = postgres.databaseUrl;
  process.env.KAFKA_BROKERS = kafka.brokers;
  try {
    await work();
  } finally {
    await kafka.stop();
    await postgres.stop();
  }
}
