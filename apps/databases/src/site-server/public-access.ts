import { Client } from 'pg';
import { quoteIdentifier } from '../domain/sql-quoting';
import { PROVISIONER_ROLE } from './provisioner-role';
import { ANY_POOL_DATABASE } from '../domain/spare-database-names';

/** A site's database: `site_` and 32 hex digits (libs/contracts, site-database-names.ts). */
const SITE_DATABASE = '^site_[0-9a-f]{32}$';

export interface PublicAccessReport {
  /** Databases whose CONNECT and TEMPORARY were taken from PUBLIC now. */
  readonly revoked: string[];
  /** Whether template1's public schema lost CREATE for PUBLIC now (PostgreSQL ≤ 14 grants it). */
  readonly template1Schema: boolean;
}

/**
 * Least privilege on the site server, run at boot from a superuser session. Every role on
 * this server may log in, site roles included: by default PUBLIC may CONNECT to (and make
 * temporary tables in) every database, so a site's password would open `postgres`,
 * `template1` and the platform's own databases. Here PUBLIC loses CONNECT and TEMPORARY on
 * every database but the sites' (each of which grants its own role only), the provisioner
 * gets CONNECT on the one its DDL sessions use, and template1's public schema loses
 * PUBLIC's CREATE (whatever lands there would be copied into every later site).
 * Idempotent: a second boot finds nothing to do. Owners and superusers keep their access.
 */
/**
 * One database's REVOKE. Other sessions may drop or alter the database meanwhile: a
 * database gone (3D000, or "tuple concurrently deleted") has nothing left to revoke; a
 * concurrent catalog update ("tuple concurrently updated") is tried again. False when gone.
 */
async function revokeFromPublic(superuser: Client, database: string): Promise<boolean> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await superuser.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${quoteIdentifier(database)} FROM PUBLIC`);
      return true;
    } catch (error) {
      const { code, message } = error as { code?: string; message?: string };
      const exists = async () => ((await superuser.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount ?? 0) > 0;
      if (code === '3D000' || (/concurrently (deleted|updated)/.test(message ?? '') && !(await exists()))) return false;
      if (attempt >= 5 || !/concurrently (deleted|updated)/.test(message ?? '')) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

export async function restrictPublicAccess(superuser: Client, ddlDatabase: string, template1Url: URL): Promise<PublicAccessReport> {
  // Replicas booting together take turns: concurrent GRANT/REVOKE on one catalog row fail.
  await superuser.query('SELECT pg_advisory_lock($1)', [RESTRICT_LOCK]);
  try {
    return await restrict(superuser, ddlDatabase, template1Url);
  } finally {
    await superuser.query('SELECT pg_advisory_unlock($1)', [RESTRICT_LOCK]);
  }
}

const RESTRICT_LOCK = 7_321_004;

async function restrict(superuser: Client, ddlDatabase: string, template1Url: URL): Promise<PublicAccessReport> {
  const { rows } = await superuser.query<{ datname: string }>(
    `SELECT datname FROM pg_database
      WHERE datname !~ $1 AND datname !~ $2 AND datname <> 'template0'
        AND (has_database_privilege('public', oid, 'CONNECT') OR has_database_privilege('public', oid, 'TEMPORARY'))
      ORDER BY datname`,
    // The warm pool's databases are the pool's to close: revoking a half-built spare would make it look ready.
    [SITE_DATABASE, ANY_POOL_DATABASE],
  );
  const revoked: string[] = [];
  for (const { datname } of rows) {
    if (await revokeFromPublic(superuser, datname)) revoked.push(datname);
  }
  await superuser.query(`GRANT CONNECT ON DATABASE ${quoteIdentifier(ddlDatabase)} TO ${quoteIdentifier(PROVISIONER_ROLE)}`);

  const template1 = new Client({ connectionString: template1Url.toString(), application_name: 'sitesaga-databases-setup', connectionTimeoutMillis: 10_000 });
  template1.on('error', () => undefined);
  await template1.connect();
  try {
    const { rows: schema } = await template1.query<{ open: boolean }>(
      `SELECT has_schema_privilege('public', 'public', 'CREATE') AS open WHERE EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'public')`,
    );
    const open = schema[0]?.open === true;
    if (open) await template1.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
    return { revoked, template1Schema: open };
  } finally {
    await template1.end().catch(() => undefined);
  }
}
