import { Client } from 'pg';

/**
 * Each service keeps its own database on the server named by DATABASE_URL:
 * `<SERVICE>_DATABASE_URL` when given (e.g. SITE_SAGA_DATABASE_URL), otherwise
 * DATABASE_URL with the database `<DATABASE_NAME_PREFIX><service>` (prefix `sitesaga_`).
 */
export function databaseUrlFor(service: string, env: NodeJS.ProcessEnv = process.env): string {
  const own = env[`${service.replace(/-/g, '_').toUpperCase()}_DATABASE_URL`];
  if (own) return own;
  const url = new URL(env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = `/${env.DATABASE_NAME_PREFIX ?? 'sitesaga_'}${service.replace(/-/g, '_')}`;
  return url.toString();
}

export const databaseNameOf = (databaseUrl: string): string => decodeURIComponent(new URL(databaseUrl).pathname.slice(1));

/**
 * Creates the database of `databaseUrl` when missing (connecting to the server's `postgres`
 * database). Replicas booting at once may all find it missing: the losers' CREATE fails
 * with 42P04 (duplicate_database) or, when both passed the catalog check together, with
 * 23505 on pg_database's unique name index; either means it exists now.
 */
export async function ensureDatabaseExists(databaseUrl: string): Promise<void> {
  const name = databaseNameOf(databaseUrl);
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString(), connectionTimeoutMillis: 10_000, application_name: 'sitesaga-setup' });
  // A server going away mid-call fails the query in flight; an unheard 'error' event would kill the process.
  client.on('error', () => undefined);
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      const quoted = `"${name.replace(/"/g, '""')}"`;
      const created = await client.query(`CREATE DATABASE ${quoted}`).then(
        () => true,
        (error: { code?: string }) => {
          if (!isDuplicateDatabase(error)) throw error;
          return false;
        },
      );
      // Only its owner (and superusers) may connect: not every login of the server, site roles included.
      if (created) await client.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${quoted} FROM PUBLIC`);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A CREATE DATABASE that lost the race against another session creating the same name. */
export const isDuplicateDatabase = (error: { code?: string }): boolean => error.code === '42P04' || error.code === '23505';
