import { Inject, Injectable } from '@nestjs/common';
import { BusinessRejection } from '@sitesaga/messaging';
import { hash } from 'bcrypt';
import { randomBytes } from 'node:crypto';
import { Client, DatabaseError } from 'pg';
import { BOOTSTRAP_CONFIG, type BootstrapConfig } from '../config/bootstrap-config';
import { ADMIN_META, ADMIN_USER, BOOTSTRAP_MARKER, BOOTSTRAP_VERSION, type SiteIdentity, siteOptions, siteUrlOf } from '../domain/site-content';
import type { SiteLogin } from '../domain/site-login';
import { WORDPRESS_SCHEMA } from '../domain/wordpress-schema';

export interface InstallOutcome {
  readonly adminUser: string;
  /** False when the marker showed an earlier run had finished: nothing was done. */
  readonly installed: boolean;
}

const INSTALL_LOCK = 7_321_004; // advisory locks are per database: one key serves every site

/** Refusals by the site's server that no retry can cure (the saga compensates instead). */
const PERMANENT: Record<string, string> = {
  '28P01': 'the site database refused its own login (password authentication failed)',
  '28000': 'the site database refused its own login',
  '3D000': 'the site database does not exist',
  '42501': 'the site role may not connect to or create in its database',
};

/**
 * The only code that touches a site's database. It logs in as the site's own role (never
 * a privileged one), so whatever a command says, it can reach nothing but that site's
 * database. The schema, options and admin user go in one transaction with a marker
 * option written last: the marker present means done, and a re-run is a no-op.
 */
@Injectable()
export class SiteSchemaInstaller {
  constructor(@Inject(BOOTSTRAP_CONFIG) private readonly config: BootstrapConfig) {}

  async install(site: SiteIdentity, databaseName: string, login: SiteLogin): Promise<InstallOutcome> {
    const client = await this.connect(databaseName, login);
    let inTransaction = false;
    try {
      if (await readMarker(client)) return { adminUser: ADMIN_USER, installed: false };
      // bcrypt's async hash runs on libuv's thread pool; the plaintext is dropped at once:
      // nobody ever learns it, the customer sets a password by email ("lost password").
      const adminHash = await hash(randomBytes(24).toString('base64url'), this.config.bcryptRounds);
      await client.query('BEGIN');
      inTransaction = true;
      await client.query('SELECT pg_advisory_xact_lock($1)', [INSTALL_LOCK]);
      await client.query(WORDPRESS_SCHEMA);
      if (await readMarker(client)) {
        await client.query('COMMIT');
        return { adminUser: ADMIN_USER, installed: false }; // a sibling replica finished first
      }
      const options = siteOptions(site);
      await client.query(
        `INSERT INTO options (option_name, option_value) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (option_name) DO NOTHING`,
        [options.map(([name]) => name), options.map(([, value]) => value)],
      );
      await client.query(
        `INSERT INTO users (user_login, user_pass, user_nicename, user_email, user_url, display_name)
         VALUES ($1, $2, $1, $3, $4, $1) ON CONFLICT (user_login) DO NOTHING`,
        [ADMIN_USER, adminHash, site.adminEmail, siteUrlOf(site.domain)],
      );
      await client.query(
        `INSERT INTO usermeta (user_id, meta_key, meta_value)
         SELECT u.id, m.key, m.value FROM users u, unnest($2::text[], $3::text[]) AS m(key, value)
          WHERE u.user_login = $1 AND NOT EXISTS (SELECT 1 FROM usermeta x WHERE x.user_id = u.id AND x.meta_key = m.key)`,
        [ADMIN_USER, ADMIN_META.map(([key]) => key), ADMIN_META.map(([, value]) => value)],
      );
      // The default category has id 1 (option default_category): fixed ids, then the
      // sequences moved past them (a rolled-back attempt may have advanced them anyway).
      await client.query(`INSERT INTO terms (term_id, name, slug) VALUES (1, 'Uncategorized', 'uncategorized') ON CONFLICT DO NOTHING`);
      await client.query(`INSERT INTO term_taxonomy (term_taxonomy_id, term_id, taxonomy) VALUES (1, 1, 'category') ON CONFLICT DO NOTHING`);
      await client.query(
        `SELECT setval(pg_get_serial_sequence('terms', 'term_id'), (SELECT max(term_id) FROM terms)),
                setval(pg_get_serial_sequence('term_taxonomy', 'term_taxonomy_id'), (SELECT max(term_taxonomy_id) FROM term_taxonomy))`,
      );
      await client.query(`INSERT INTO options (option_name, option_value, autoload) VALUES ($1, $2, 'no') ON CONFLICT (option_name) DO NOTHING`, [
        BOOTSTRAP_MARKER,
        BOOTSTRAP_VERSION,
      ]);
      await client.query('COMMIT');
      inTransaction = false;
      return { adminUser: ADMIN_USER, installed: true };
    } catch (error) {
      if (inTransaction) await client.query('ROLLBACK').catch(() => undefined);
      throw permanentOrAsIs(error);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private async connect(databaseName: string, login: SiteLogin): Promise<Client> {
    const url = new URL(this.config.siteDatabaseUrl);
    url.username = encodeURIComponent(login.user);
    url.password = encodeURIComponent(login.password);
    url.pathname = `/${encodeURIComponent(databaseName)}`;
    const client = new Client({
      connectionString: url.toString(),
      application_name: 'sitesaga-bootstrap',
      connectionTimeoutMillis: 10_000,
      options: '-c lock_timeout=10s -c statement_timeout=60s',
    });
    client.on('error', () => undefined); // a session lost between queries fails the query in flight; no crash
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw permanentOrAsIs(error);
    }
    return client;
  }
}

async function readMarker(client: Client): Promise<string | null> {
  try {
    const { rows } = await client.query<{ option_value: string }>('SELECT option_value FROM options WHERE option_name = $1', [BOOTSTRAP_MARKER]);
    return rows[0]?.option_value ?? null;
  } catch (error) {
    if (error instanceof DatabaseError && error.code === '42P01') return null; // no options table yet
    throw error;
  }
}

/** Turns the refusals no retry can cure into business rejections; leaves the rest (lost connections…) to the retry classifier. */
function permanentOrAsIs(error: unknown): unknown {
  const code = error instanceof DatabaseError ? error.code : undefined;
  const reason = code ? PERMANENT[code] : undefined;
  return reason ? new BusinessRejection(reason) : error;
}
