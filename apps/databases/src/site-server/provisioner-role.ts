import type { Client } from 'pg';
import { quoteIdentifier, quoteLiteral } from '../domain/sql-quoting';
import { scramSha256Verifier, verifierMatches } from '../domain/scram-verifier';

/** The role every site's DDL runs as: CREATEDB and CREATEROLE, never superuser. */
export const PROVISIONER_ROLE = 'sitesaga_provisioner';

const SETUP_LOCK = 7_321_003; // replicas booting together create the role once

interface ProvisionerRow {
  rolsuper: boolean;
  rolcanlogin: boolean;
  rolcreatedb: boolean;
  rolcreaterole: boolean;
  rolinherit: boolean;
  rolpassword: string | null;
}

/**
 * Creates `sitesaga_provisioner` (LOGIN CREATEDB CREATEROLE INHERIT NOSUPERUSER) when it
 * is missing, or restores those attributes when someone changed them, from a superuser
 * session. With `password`, its SCRAM verifier (never the password) is set when the
 * stored one does not match. Returns what it did, for the boot log.
 */
export async function ensureProvisionerRole(superuser: Client, password: string | undefined): Promise<'created' | 'updated' | 'unchanged'> {
  await superuser.query('SELECT pg_advisory_lock($1)', [SETUP_LOCK]);
  try {
    const { rows } = await superuser.query<ProvisionerRow>(
      'SELECT rolsuper, rolcanlogin, rolcreatedb, rolcreaterole, rolinherit, rolpassword FROM pg_authid WHERE rolname = $1',
      [PROVISIONER_ROLE],
    );
    const existing = rows[0];
    const passwordMatches = password === undefined || (existing?.rolpassword ? await verifierMatches(existing.rolpassword, password) : false);
    const passwordClause = passwordMatches ? '' : ` PASSWORD ${quoteLiteral(await scramSha256Verifier(password!))}`;
    const attributes = `LOGIN CREATEDB CREATEROLE INHERIT NOSUPERUSER${passwordClause}`;
    if (!existing) {
      await superuser.query(`CREATE ROLE ${quoteIdentifier(PROVISIONER_ROLE)} ${attributes}`);
      return 'created';
    }
    const attributesMatch = !existing.rolsuper && existing.rolcanlogin && existing.rolcreatedb && existing.rolcreaterole && existing.rolinherit;
    if (attributesMatch && passwordMatches) return 'unchanged';
    await superuser.query(`ALTER ROLE ${quoteIdentifier(PROVISIONER_ROLE)} ${attributes}`);
    return 'updated';
  } finally {
    await superuser.query('SELECT pg_advisory_unlock($1)', [SETUP_LOCK]);
  }
}
