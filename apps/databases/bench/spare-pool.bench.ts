/**
 * What the warm pool takes off a site's critical path, measured against the real server
 * with nothing else around it (no Kafka, no service process): each round provisions two
 * sites back to back, one by claiming a spare, one the slow way (pool empty), and then puts
 * the WordPress schema in each the way bootstrap does (the slow one needs the DDL, the
 * claimed one only a read of the schema's mark). Interleaving the two in every round makes
 * the comparison fair on a shared, noisy machine. Prints figures; asserts nothing.
 *
 *   pnpm exec tsx apps/databases/bench/spare-pool.bench.ts [--rounds 30]
 *
 * Uses DATABASE_URL (default the local server). Drops everything it makes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import type { Logger } from 'pino';
import { siteDatabaseNames, WORDPRESS_SCHEMA, WORDPRESS_SCHEMA_MARK } from '@sitesaga/contracts';
import { generateDatabasePassword } from '../src/domain/database-password';
import { SiteDatabaseServer } from '../src/site-server/site-database-server';

const { values } = parseArgs({ args: process.argv.slice(2).filter((arg) => arg !== '--'), options: { rounds: { type: 'string', default: '30' } } });
const rounds = Number(values.rounds);
const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const quiet = { info: () => undefined, warn: (...args: unknown[]) => console.error('warn', ...args), child: () => quiet } as unknown as Logger;
const percentile = (values: number[], p: number): number =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))] ?? NaN;

async function schemaStep(siteId: string, password: string): Promise<number> {
  const { roleName, databaseName } = siteDatabaseNames(siteId);
  const url = new URL(serverUrl);
  url.username = roleName;
  url.password = password;
  url.pathname = `/${databaseName}`;
  const started = performance.now();
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const mark = await client
      .query<{ mark: string | null }>(`SELECT obj_description('options'::regclass, 'pg_class') AS mark`)
      .then((result) => result.rows[0]?.mark ?? null)
      .catch(() => null);
    if (mark !== WORDPRESS_SCHEMA_MARK) await client.query(`BEGIN; ${WORDPRESS_SCHEMA} COMMIT;`);
  } finally {
    await client.end();
  }
  return performance.now() - started;
}

async function main(): Promise<void> {
  const prefix = `bench_pool_${randomBytes(3).toString('hex')}_`;
  const connect = (size: number) =>
    SiteDatabaseServer.connect({
      siteDatabaseUrl: serverUrl,
      provisionerPassword: undefined,
      siteConnectionLimit: 20,
      poolSize: 2,
      logger: quiet,
      spares: { size, refillConcurrency: 1, namePrefix: prefix },
    });
  const pooled = await connect(1);
  const plain = await connect(0);
  const sites: string[] = [];
  const times = { claim: [] as number[], create: [] as number[], claimSchema: [] as number[], createSchema: [] as number[] };
  try {
    for (let round = 0; round < rounds + 2; round += 1) {
      // The refill finishes between rounds (it waits while provisioning is in flight).
      const deadline = Date.now() + 60_000;
      while (pooled.spares!.readyCount < 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      const order = round % 2 === 0 ? (['claim', 'create'] as const) : (['create', 'claim'] as const);
      for (const way of order) {
        const siteId = randomUUID();
        sites.push(siteId);
        const password = generateDatabasePassword();
        const started = performance.now();
        await (way === 'claim' ? pooled : plain).provision(siteDatabaseNames(siteId), password, { resetPassword: true });
        const provisioned = performance.now() - started;
        const schema = await schemaStep(siteId, password);
        if (round < 2) continue; // warm-up
        times[way].push(provisioned);
        times[way === 'claim' ? 'claimSchema' : 'createSchema'].push(schema);
      }
    }
    const line = (label: string, values: number[]) =>
      `${label.padEnd(44)} p50 ${percentile(values, 50).toFixed(1).padStart(7)} ms  p90 ${percentile(values, 90).toFixed(1).padStart(7)} ms`;
    console.log(`spare pool vs CREATE DATABASE, ${rounds} rounds, interleaved`);
    console.log(line('provision: claim a spare (1 round trip)', times.claim));
    console.log(line('provision: CREATE ROLE + DATABASE + grants', times.create));
    console.log(line('schema step on a claimed spare (read mark)', times.claimSchema));
    console.log(line('schema step on a new database (DDL)', times.createSchema));
    const sum = (a: number[], b: number[]) => a.map((value, index) => value + b[index]!);
    console.log(line('both, claimed', sum(times.claim, times.claimSchema)));
    console.log(line('both, created', sum(times.create, times.createSchema)));
  } finally {
    for (const siteId of sites) await plain.drop(siteDatabaseNames(siteId));
    await pooled.onApplicationShutdown();
    await plain.onApplicationShutdown();
    const admin = new Client({ connectionString: serverUrl });
    await admin.connect();
    for (const { datname } of (await admin.query(`SELECT datname FROM pg_database WHERE left(datname, length($1)) = $1`, [prefix])).rows)
      await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    for (const { rolname } of (await admin.query(`SELECT rolname FROM pg_roles WHERE left(rolname, length($1)) = $1`, [prefix])).rows)
      await admin.query(`DROP ROLE IF EXISTS "${rolname}"`);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
