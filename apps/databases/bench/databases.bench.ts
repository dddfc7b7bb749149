/**
 * Per-command latency of the databases service, as a process, through Kafka: the time
 * from sending ProvisionDatabase (then DropDatabase) to its reply on databases.events,
 * and the service's CPU time per command. Prints figures; asserts nothing. Every
 * database and role it creates is dropped again (by the DropDatabase phase, then a sweep).
 *
 *   pnpm bench:databases [-- --commands 100 --concurrency 1]
 *
 * Needs `pnpm --filter @sitesaga/databases... build`. Uses KAFKA_BROKERS and DATABASE_URL
 * when set, else starts the local broker and Postgres.
 */
import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { type Envelope, DropDatabase, ProvisionDatabase, Topics } from '@sitesaga/contracts';
import { Client } from 'pg';
import { withLocalInfrastructure } from '../../../scripts/bench/local-infrastructure';
import { consumerGroupAtEnd } from '../../../test/support/consumer-group';
import { testKafka } from '../../../test/support/kafka-probe';
import { startService } from '../../../test/support/service-process';
import { siteDatabaseNames } from '@sitesaga/contracts';
import { cpuMs, idleCpuPerSecond, type PhaseResult, printPhaseResults } from '../../../test/support/process-cpu';

const { values } = parseArgs({ args: process.argv.slice(2).filter((argument) => argument !== '--'), options: { commands: { type: 'string', default: '100' }, concurrency: { type: 'string', default: '1' } } });
const total = Number(values.commands);
const concurrency = Number(values.concurrency);
const WARM_UP = 3;

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const summary = (label: string, samples: number[]): string => {
  const sorted = [...samples].sort((a, b) => a - b);
  return `${label.padEnd(20)} n=${sorted.length}  p50=${percentile(sorted, 50).toFixed(1)} ms  p90=${percentile(sorted, 90).toFixed(1)} ms  p99=${percentile(sorted, 99).toFixed(1)} ms  max=${sorted[sorted.length - 1]?.toFixed(1)} ms`;
};

/** A broker that just started may still be electing leaders: retry what it calls retriable. */
async function retrying<T>(work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await work();
    } catch (error) {
      if (!(error as { retriable?: boolean }).retriable || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

async function main(): Promise<void> {
  const kafka = testKafka('databases-bench');
  const prefix = `bench_databases_${randomBytes(3).toString('hex')}_`;
  const commands = await retrying(() => consumerGroupAtEnd(kafka, 'databases-bench', [Topics.databasesCommands]));
  const listenerGroup = await retrying(() => consumerGroupAtEnd(kafka, 'databases-bench-listener', [Topics.databasesEvents]));
  const waiting = new Map<string, (reply: Envelope) => void>();
  const listener = kafka.consumer({ groupId: listenerGroup.groupId, maxWaitTimeInMs: 20, allowAutoTopicCreation: false });
  await listener.connect();
  await listener.subscribe({ topic: Topics.databasesEvents });
  await listener.run({
    eachMessage: async ({ message }) => {
      const reply = JSON.parse(message.value!.toString()) as Envelope;
      waiting.get(reply.sagaId)?.(reply);
    },
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const service = await startService('databases', {
    DATABASE_NAME_PREFIX: prefix,
    KAFKA_GROUP_ID: commands.groupId,
    SECRETS_KEY: randomBytes(32).toString('hex'),
    LOG_LEVEL: 'warn',
  });
  const siteIds = Array.from({ length: total + WARM_UP }, () => randomUUID());

  const roundTrip = async (envelope: Envelope, expected: string): Promise<number> => {
    const replied = new Promise<Envelope>((resolve) => waiting.set(envelope.sagaId, resolve));
    const started = performance.now();
    await producer.send({ topic: Topics.databasesCommands, messages: [{ key: envelope.sagaId, value: JSON.stringify(envelope) }] });
    const reply = await replied;
    waiting.delete(envelope.sagaId);
    if (reply.type !== expected) throw new Error(`${envelope.type} got ${reply.type}: ${JSON.stringify(reply.payload)}`);
    return performance.now() - started;
  };
  const results: PhaseResult[] = [];
  const causation = () => ({ sagaId: randomUUID(), correlationId: randomUUID(), causationId: null });
  const phase = async (label: string, ids: string[], build: (siteId: string) => Envelope, expected: string): Promise<void> => {
    const samples: number[] = [];
    const cpuBefore = cpuMs(service.pid);
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < ids.length) samples.push(await roundTrip(build(ids[next++]!), expected));
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    results.push({ label, line: `${summary(label, samples)}  ${(ids.length / seconds).toFixed(1)}/s`, cpu: cpuMs(service.pid) - cpuBefore, seconds, count: ids.length });
  };

  try {
    console.log(`databases: ${total} commands per phase, concurrency ${concurrency}, ${WARM_UP} warm-up`);
    await phase('warm-up', siteIds.slice(0, WARM_UP), (siteId) => ProvisionDatabase.create({ siteId }, causation()), 'DatabaseProvisioned');
    await phase('ProvisionDatabase', siteIds.slice(WARM_UP), (siteId) => ProvisionDatabase.create({ siteId }, causation()), 'DatabaseProvisioned');
    await phase('DropDatabase', siteIds, (siteId) => DropDatabase.create({ siteId }, causation()), 'DatabaseDropped');
    printPhaseResults(results, await idleCpuPerSecond(service.pid));
  } finally {
    await service.stop();
    await listener.disconnect();
    await producer.disconnect();
    await commands.drop();
    await listenerGroup.drop();
    // A sweep, whatever happened above: nothing the benchmark made stays behind.
    const admin = new Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    for (const siteId of siteIds) {
      const { databaseName, roleName } = siteDatabaseNames(siteId);
      await admin.query(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`);
      await admin.query(`DROP ROLE IF EXISTS "${roleName}"`);
    }
    await admin.query(`DROP DATABASE IF EXISTS "${prefix}databases" WITH (FORCE)`);
    await admin.end();
  }
}

withLocalInfrastructure(main).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
