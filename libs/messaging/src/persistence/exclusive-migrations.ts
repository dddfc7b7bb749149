import { Client } from 'pg';
import type { Logger } from 'pino';
import type { DataSource, Migration } from 'typeorm';

const MIGRATION_LOCK = 7_321_000; // advisory locks are per database: one key per service database

/**
 * Runs the pending migrations of `dataSource` while holding a session advisory lock on its
 * database, so that replicas booting at once migrate one after the other: the first runs
 * them, the others wait, then find nothing pending. TypeORM itself takes no lock, and two
 * unlocked runs both try to create the same tables (and both record them as applied).
 *
 * The lock lives on a session of its own, outside the data source's pool (a pool of one
 * would otherwise deadlock), and dies with it: a replica killed mid-migration frees the
 * lock, and its transaction (one per migration) rolls back.
 */
export async function runMigrationsExclusively(dataSource: DataSource, databaseUrl: string, logger?: Pick<Logger, 'info'>): Promise<Migration[]> {
  const lock = new Client({ connectionString: databaseUrl, application_name: 'sitesaga-migrations', connectionTimeoutMillis: 10_000 });
  // A lost session fails the query in flight (and so the boot); an unheard 'error' event would kill the process.
  lock.on('error', () => undefined);
  await lock.connect();
  try {
    const { rows } = await lock.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [MIGRATION_LOCK]);
    if (!rows[0]?.locked) {
      logger?.info('another replica is migrating this database; waiting for it');
      await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    }
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    if (applied.length > 0) logger?.info({ migrations: applied.map((migration) => migration.name) }, 'database migrated');
    return applied;
  } finally {
    // Ending the session releases the lock, whatever state the run left it in.
    await lock.end().catch(() => undefined);
  }
}
