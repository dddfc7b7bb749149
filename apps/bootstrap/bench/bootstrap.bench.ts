/**
 * Per-command latency of the bootstrap service, as a process, through Kafka: the time
 * from sending BootstrapSite to SiteBootstrapped on bootstrap.events, and the service's
 * CPU time per command (bcrypt cost 10 included). Prints figures; asserts nothing.
 *
 *   pnpm bench:bootstrap [-- --commands 100 --concurrency 1]
 *
 * The site databases, their roles and the storage directories are made beforehand
 * (untimed) with plain DDL, and dropped afterwards: the databases service's own
 * provisioning is not what this measures (pnpm bench:databases does). Needs
 * `pnpm --filter @sitesaga/bootstrap... build`. Uses KAFKA_BROKERS and DATABASE_URL when
 * set, else starts the local broker and Postgres.
 */
import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { BootstrapSite, type Envelope, siteDatabaseNames, Topics } from '@sitesaga/contracts';
import { sealSecret } from '@sitesaga/secrets';
import { Client, escapeIdentifier, escapeLiteral } from 'pg';
import { withLocalInfrastructure } from '../../../scripts/bench/local-infrastructure';
import { consumerGroupAtEnd } from '../../../test/support/consumer-group';
import { testKafka } from '../../../test/support/kafka-probe';
import { startService } from '../../../test/support/service-process';
import { cpuMs, idleCpuPerSecond, type PhaseResult, printPhaseResults } from '../../../test/support/process-cpu';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((argument) => argument !== '--'),
  options: { commands: { type: 'string', default: '100' }, concurrency: { type: 'string', default: '1' } },
});
const total = Number(values.commands);
const concurrency = Number(values.concurrency);
const WARM_UP = 3;

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const summary = (label: string, samples: number[]): string => {
  const sorted = [...samples].sort((a, b) => a - b);
  return `${label.padEnd(20)} n=${sorted.length}  p50=${percentile(sorted, 50).toFixed(1)} ms  p90=${percentile(sorted, 90).toFixed(1)} ms  p99=${percentile(sorted, 99).toFixed(1)} ms  max=${sorted[sorted.length - 1]?.toFixed(1)} ms`;
};

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

/** A site's login role and its own database, as the databases service leaves them (setup, untimed). */
async function provisionSite(admin: Client, siteId: string, password: string): Promise<void> {
  const name = escapeIdentifier(siteDatabaseNames(siteId).databaseName);
  await admin.query(`CREATE ROLE ${name} LOGIN PASSWORD ${escapeLiteral(password)}`);
  await admin.query(`CREATE DATABASE ${name} OWNER ${name}`);
}

async function dropSite(admin: Client, siteId: string): Promise<void> {
  const name = escapeIdentifier(siteDatabaseNames(siteId).databaseName);
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`DROP ROLE IF EXISTS ${name}`);
}

async function main(): Promise<void> {
  const kafka = testKafka('bootstrap-bench');
  const prefix = `bench_bootstrap_${randomBytes(3).toString('hex')}_`;
  const secretsKey = randomBytes(32);
  const storageRoot = await mkdtemp(path.join(tmpdir(), 'bootstrap-bench-'));
  const siteServer = new Client({ connectionString: process.env.DATABASE_URL });
  await siteServer.connect();
  const sites = Array.from({ length: total + WARM_UP }, () => ({ siteId: randomUUID(), password: randomBytes(24).toString('base64url') }));
  const commands = await retrying(() => consumerGroupAtEnd(kafka, 'bootstrap-bench', [Topics.bootstrapCommands]));
  const listenerGroup = await retrying(() => consumerGroupAtEnd(kafka, 'bootstrap-bench-listener', [Topics.bootstrapEvents]));
  const waiting = new Map<string, (reply: Envelope) => void>();
  const listener = kafka.consumer({ groupId: listenerGroup.groupId, maxWaitTimeInMs: 20, allowAutoTopicCreation: false });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  let service: Awaited<ReturnType<typeof startService>> | undefined;
  try {
    process.stdout.write(`preparing ${sites.length} site databases and directories (untimed)… `);
    for (const site of sites) {
      await provisionSite(siteServer, site.siteId, site.password);
      await mkdir(path.join(storageRoot, site.siteId));
    }
    console.log('done');
    await listener.connect();
    await listener.subscribe({ topic: Topics.bootstrapEvents });
    await listener.run({
      eachMessage: async ({ message }) => {
        const reply = JSON.parse(message.value!.toString()) as Envelope;
        waiting.get(reply.sagaId)?.(reply);
      },
    });
    await producer.connect();
    service = await startService('bootstrap', {
      DATABASE_NAME_PREFIX: prefix,
      KAFKA_GROUP_ID: commands.groupId,
      SECRETS_KEY: secretsKey.toString('hex'),
      STORAGE_ROOT: storageRoot,
      LOG_LEVEL: 'warn',
    });
    const pid = service.pid;
    const results: PhaseResult[] = [];

    const roundTrip = async (site: { siteId: string; password: string }): Promise<number> => {
      const { databaseName, roleName } = siteDatabaseNames(site.siteId);
      const envelope = BootstrapSite.create(
        {
          siteId: site.siteId,
          name: 'bench-site',
          domain: 'bench.example.com',
          adminEmail: 'owner@example.com',
          databaseName,
          credentials: sealSecret(secretsKey, { user: roleName, password: site.password }, { context: site.siteId }),
        },
        { sagaId: randomUUID(), correlationId: randomUUID(), causationId: null },
      );
      const replied = new Promise<Envelope>((resolve) => waiting.set(envelope.sagaId, resolve));
      const started = performance.now();
      await producer.send({ topic: Topics.bootstrapCommands, messages: [{ key: envelope.sagaId, value: JSON.stringify(envelope) }] });
      const reply = await replied;
      waiting.delete(envelope.sagaId);
      if (reply.type !== 'SiteBootstrapped') throw new Error(`BootstrapSite got ${reply.type}: ${JSON.stringify(reply.payload)}`);
      return performance.now() - started;
    };
    const phase = async (label: string, batch: typeof sites): Promise<void> => {
      const samples: number[] = [];
      const cpuBefore = cpuMs(pid);
      const started = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < batch.length) samples.push(await roundTrip(batch[next++]!));
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      results.push({
        label,
        line: `${summary(label, samples)}  ${(batch.length / seconds).toFixed(1)}/s`,
        cpu: cpuMs(pid) - cpuBefore,
        seconds,
        count: batch.length,
      });
    };
    console.log(`bootstrap: ${total} commands, concurrency ${concurrency}, ${WARM_UP} warm-up`);
    await phase('warm-up', sites.slice(0, WARM_UP));
    await phase('BootstrapSite', sites.slice(WARM_UP));
    printPhaseResults(results, await idleCpuPerSecond(pid));
    // A sanity check that the work was real: the last site has its config file.
    await readFile(path.join(storageRoot, sites[sites.length - 1]!.siteId, 'wp-config.php'));
  } finally {
    await service?.stop();
    await listener.disconnect();
    await producer.disconnect();
    await commands.drop();
    await listenerGroup.drop();
    for (const site of sites) await dropSite(siteServer, site.siteId);
    await siteServer.end();
    await rm(storageRoot, { recursive: true, force: true });
    const admin = new Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${prefix}bootstrap" WITH (FORCE)`);
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
