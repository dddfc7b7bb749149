import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { BusinessRejection, LOGGER } from '@sitesaga/messaging';
import { hash } from 'bcrypt';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Client, DatabaseError } from 'pg';
import type { Logger } from 'pino';
import { BOOTSTRAP_CONFIG, type BootstrapConfig } from '../config/bootstrap-config';
import { ADMIN_META, ADMIN_USER, BOOTSTRAP_MARKER, BOOTSTRAP_VERSION, type SiteIdentity, siteOptions, siteUrlOf } from '../domain/site-content';
import type { SiteLogin } from '../domain/site-login';
import { AdminHashPool } from './admin-hash-pool';
import { WORDPRESS_SCHEMA, WORDPRESS_SCHEMA_MARK } from '../domain/wordpress-schema';

export interface InstallOutcome {
  readonly adminUser: string;
  /** False when the marker showed an earlier run had finished: nothing was done. */
  readonly installed: boolean;
}

/** What a site's database already holds, read at connect time. */
interface SiteDatabaseState {
  /** The bootstrap marker: present means an earlier run finished. */
  readonly marker: string | null;
  /** The schema's mark (WORDPRESS_SCHEMA_MARK when this very schema is there: a spare from the pool). */
  readonly schema: string | null;
}

/** A session to a site's database, opened as the site's role, with what the database holds. */
export interface OpenSiteDatabase {
  readonly client: Client;
  readonly state: SiteDatabaseState;
  close(): Promise<void>;
}

const INSTALL_LOCK = 7_321_004; // advisory locks are per database: one key serves every site

/**
 * bcrypt's async hash runs on libuv's thread pool (UV_THREADPOOL_SIZE, 4 by default), which
 * the file writes and fsyncs of wp-config, and pg's SCRAM key derivation, share. At most
 * this many hashes run at once, so that a burst of bootstraps never holds every thread:
 * the cores (a hash is pure CPU, more at once only interleave), and always one thread free.
 */
const threadPoolSize = Number(process.env.UV_THREADPOOL_SIZE) || 4;
const MAX_HASHES = Math.max(1, Math.min(availableParallelism(), threadPoolSize - 1));

/** Refusals by the site's server that no retry can cure (the saga compensates instead). */
const PERMANENT: Record<string, string> = {
  '28P01': 'the site database refused its own login (password authentication failed)',
  '28000': 'the site database refused its own login',
  '3D000': 'the site database does not exist',
  '42501': 'the site role may not connect to or create in its database',
};

/**
 * Options (the marker among them, autoload 'no'), the admin user, its meta and the default
 * category, in one statement: one round trip, atomic on its own, and idempotent (every
 * insert skips what exists). `installed` says whether this run wrote the marker. The
 * sequences of the fixed-id rows are moved past them (a rolled-back attempt may have
 * advanced them; the statement's snapshot does not see its own inserts, hence GREATEST).
 */
const SEED = `
WITH opts AS (
  INSERT INTO options (option_name, option_value, autoload)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
  ON CONFLICT (option_name) DO NOTHING
  RETURNING option_name
), admin AS (
  INSERT INTO users (user_login, user_pass, user_nicename, user_email, user_url, display_name)
  VALUES ($4::text, $5::text, $4::text, $6::text, $7::text, $4::text)
  ON CONFLICT (user_login) DO NOTHING
  RETURNING id
), meta AS (
  INSERT INTO usermeta (user_id, meta_key, meta_value)
  SELECT admin.id, m.key, m.value FROM admin, unnest($8::text[], $9::text[]) AS m(key, value)
), term AS (
  INSERT INTO terms (term_id, name, slug) VALUES (1, 'Uncategorized', 'uncategorized') ON CONFLICT DO NOTHING
), taxonomy AS (
  INSERT INTO term_taxonomy (term_taxonomy_id, term_id, taxonomy) VALUES (1, 1, 'category') ON CONFLICT DO NOTHING
)
SELECT EXISTS (SELECT 1 FROM opts WHERE option_name = $10::text) AS installed,
       setval(pg_get_serial_sequence('terms', 'term_id'), GREATEST(1, (SELECT COALESCE(max(term_id), 0) FROM terms))) AS terms_seq,
       setval(pg_get_serial_sequence('term_taxonomy', 'term_taxonomy_id'), GREATEST(1, (SELECT COALESCE(max(term_taxonomy_id), 0) FROM term_taxonomy))) AS taxonomy_seq`;

/**
 * The only code that touches a site's database. It logs in as the site's own role (never
 * a privileged one), so whatever a command says, it can reach nothing but that site's
 * database. A database that already holds this schema (a spare from the databases
 * service's warm pool) gets its content in one statement; any other gets, in one
 * transaction, the schema in one round trip (simple protocol), the content, and COMMIT.
 * The marker option makes a re-run a no-op.
 */
@Injectable()
export class SiteSchemaInstaller implements OnModuleInit, OnApplicationShutdown {
  private hashing = 0;
  /** Waiting for a hashing slot: hashes a bootstrap waits for go before hashes made ahead. */
  private readonly hashQueue: { readonly now: (() => void)[]; readonly ahead: (() => void)[] } = { now: [], ahead: [] };
  private readonly hashes: AdminHashPool;

  constructor(
    @Inject(BOOTSTRAP_CONFIG) private readonly config: BootstrapConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.hashes = new AdminHashPool(
      config.adminHashPoolSize,
      () => this.hashNew('now'),
      () => this.hashNew('ahead'),
      (error) => this.logger.warn({ err: error }, 'could not make an admin password hash ahead of time'),
    );
  }

  onModuleInit(): void {
    this.hashes.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.hashes.stop();
  }

  /**
   * The admin password's bcrypt hash: one made ahead when the pool has one (AdminHashPool),
   * else one started at once (the caller overlaps it with its connect and reads). The
   * plaintext is dropped at once: nobody ever learns it, the customer sets a password by
   * email ("lost password").
   */
  hashAdminPassword(): Promise<string> {
    return this.hashes.take();
  }

  private async hashNew(priority: 'now' | 'ahead'): Promise<string> {
    if (this.hashing >= MAX_HASHES || (priority === 'ahead' && this.hashQueue.now.length > 0)) {
      await new Promise<void>((resolve) => this.hashQueue[priority].push(resolve));
    }
    this.hashing += 1;
    try {
      return await hash(randomBytes(24).toString('base64url'), this.config.bcryptRounds);
    } finally {
      this.hashing -= 1;
      (this.hashQueue.now.shift() ?? this.hashQueue.ahead.shift())?.();
    }
  }

  /** Connects as the site's role and reads what its database holds: the connect and one round trip. */
  async open(databaseName: string, login: SiteLogin): Promise<OpenSiteDatabase> {
    const client = await this.connect(databaseName, login);
    const close = () => client.end().catch(() => undefined);
    try {
      return { client, state: await readState(client), close };
    } catch (error) {
      await close();
      throw permanentOrAsIs(error);
    }
  }

  async install(site: SiteIdentity, database: OpenSiteDatabase, adminHash: Promise<string>): Promise<InstallOutcome> {
    const { client, state } = database;
    if (state.marker) return { adminUser: ADMIN_USER, installed: false };
    const withSchema = state.schema !== WORDPRESS_SCHEMA_MARK;
    let inTransaction = false;
    try {
      if (withSchema) {
        // One round trip; runs while the hash is still being computed.
        inTransaction = true;
        await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${INSTALL_LOCK}); ${WORDPRESS_SCHEMA}`);
      }
      const options = [...siteOptions(site).map(([name, value]) => [name, value, 'yes']), [BOOTSTRAP_MARKER, BOOTSTRAP_VERSION, 'no']];
      const { rows } = await client.query<{ installed: boolean }>(SEED, [
        options.map(([name]) => name),
        options.map(([, value]) => value),
        options.map(([, , autoload]) => autoload),
        ADMIN_USER,
        await adminHash,
        site.adminEmail,
        siteUrlOf(site.domain),
        ADMIN_META.map(([key]) => key),
        ADMIN_META.map(([, value]) => value),
        BOOTSTRAP_MARKER,
      ]);
      if (withSchema) {
        await client.query('COMMIT');
        inTransaction = false;
      }
      return { adminUser: ADMIN_USER, installed: rows[0]?.installed ?? false };
    } catch (error) {
      if (inTransaction) await client.query('ROLLBACK').catch(() => undefined);
      throw permanentOrAsIs(error);
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

/** The marker and the schema's mark in one round trip; no `options` table means neither. */
async function readState(client: Client): Promise<SiteDatabaseState> {
  try {
    const { rows } = await client.query<SiteDatabaseState>(
      `SELECT (SELECT option_value FROM options WHERE option_name = $1) AS marker, obj_description('options'::regclass, 'pg_class') AS schema`,
      [BOOTSTRAP_MARKER],
    );
    return { marker: rows[0]?.marker ?? null, schema: rows[0]?.schema ?? null };
  } catch (error) {
    if (error instanceof DatabaseError && error.code === '42P01') return { marker: null, schema: null }; // no options table yet
    throw error;
  }
}

/** Turns the refusals no retry can cure into business rejections; leaves the rest (lost connections…) to the retry classifier. */
function permanentOrAsIs(error: unknown): unknown {
  const code = error instanceof DatabaseError ? error.code : undefined;
  const reason = code ? PERMANENT[code] : undefined;
  return reason ? new BusinessRejection(reason) : error;
}
