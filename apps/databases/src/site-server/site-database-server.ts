import type { OnApplicationShutdown } from '@nestjs/common';
import { isCatalogUpdateRace, TransientFailure } from '@sitesaga/messaging';
import { Client, DatabaseError, Pool, type PoolClient } from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { type SiteDatabaseNames, WORDPRESS_SCHEMA_VERSION } from '@sitesaga/contracts';
import { spareDatabaseNames } from '../domain/spare-database-names';
import { quoteIdentifier, quoteLiteral } from '../domain/sql-quoting';
import { scramSha256Verifier } from '../domain/scram-verifier';
import { ensureProvisionerRole, PROVISIONER_ROLE } from './provisioner-role';
import { restrictPublicAccess } from './public-access';
import { SpareDatabasePool } from './spare-database-pool';

export interface SiteDatabaseServerOptions {
  readonly siteDatabaseUrl: string;
  readonly provisionerPassword: string | undefined;
  readonly siteConnectionLimit: number;
  readonly poolSize: number;
  readonly logger: Logger;
  /** The warm pool of spare site databases; none when absent or of size 0. */
  readonly spares?: {
    readonly size: number;
    readonly refillConcurrency: number;
    /** DATABASE_NAME_PREFIX: every spare and template name starts with it. */
    readonly namePrefix: string;
  };
  readonly registry?: Registry;
}

/**
 * How DDL sessions become the provisioner:
 * - `login`: they log in as sitesaga_provisioner (created at boot by the superuser of SITE_DATABASE_URL);
 * - `set-role`: it cannot log in (no password given, the server wants one), so the
 *   superuser's sessions start with `role=sitesaga_provisioner`: every privilege check
 *   is the provisioner's;
 * - `configured-role`: SITE_DATABASE_URL already names a non-superuser with CREATEDB and CREATEROLE.
 */
export type ProvisionerMode = 'login' | 'set-role' | 'configured-role';

interface SiteState {
  role_exists: boolean;
  role_usable: boolean;
  database_owner: string | null;
}

const codeOf = (error: unknown): string | undefined => (error instanceof DatabaseError ? error.code : undefined);

const CATALOG_RACE_ATTEMPTS = 5;

/**
 * Two sessions changed the role at once (XX000 "tuple concurrently updated"), e.g. this
 * ALTER ROLE and one a cut connection's orphaned backend still runs: the row is settled a
 * moment later, so the statement is tried again here, at once, rather than the command.
 */
async function alterRole(session: PoolClient, role: string, login: string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await session.query(`ALTER ROLE ${role} ${login}`);
      return;
    } catch (error) {
      if (attempt >= CATALOG_RACE_ATTEMPTS || !isCatalogUpdateRace(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
    }
  }
}

/** Session settings of every DDL session: a lock held elsewhere fails (and is retried) instead of hanging. */
const SESSION_OPTIONS = '-c lock_timeout=10s -c statement_timeout=120s';

/**
 * The only code that runs DDL on the site database server. Every statement is idempotent
 * or made so (existence checks, IF EXISTS, duplicate errors taken as done), so a re-run
 * after a crash at any point finishes the job. No password ever reaches the server in
 * cleartext: roles get SCRAM verifiers computed here.
 */
export class SiteDatabaseServer implements OnApplicationShutdown {
  /** The warm pool, when enabled: provisioning claims from it first. */
  readonly spares: SpareDatabasePool | undefined;

  private constructor(
    private readonly pool: Pool,
    readonly mode: ProvisionerMode,
    private readonly serverVersion: number,
    private readonly options: SiteDatabaseServerOptions,
    private readonly session: { readonly url: URL; readonly options: string },
  ) {
    const spares = options.spares;
    if (spares && spares.size > 0) {
      if (serverVersion < 140_000) {
        // Spares' tables belong to pg_database_owner, a role PostgreSQL 14 introduced.
        options.logger.warn({ serverVersion }, 'the spare database pool needs PostgreSQL 14 or later; provisioning without it');
      } else {
        this.spares = new SpareDatabasePool({
          size: spares.size,
          refillConcurrency: spares.refillConcurrency,
          names: spareDatabaseNames(spares.namePrefix, WORDPRESS_SCHEMA_VERSION),
          strategyClause: this.strategyClause,
          openSession: (database) => this.openSession(database),
          logger: options.logger.child({ component: 'spare-database-pool' }),
          registry: options.registry,
        });
      }
    }
  }

  /** FILE_COPY (PG 15+; the only strategy before): copies the template's files instead of WAL-logging every block. */
  private get strategyClause(): string {
    return this.serverVersion >= 150_000 ? ' STRATEGY FILE_COPY' : '';
  }

  /** A DDL session of its own, outside the pool (the spare pool's builds), on the server's database or `database`. */
  private async openSession(database?: string): Promise<Client> {
    const url = new URL(this.session.url);
    if (database) url.pathname = `/${encodeURIComponent(database)}`;
    const client = new Client({
      connectionString: url.toString(),
      options: this.session.options,
      application_name: 'sitesaga-databases-pool',
      connectionTimeoutMillis: 10_000,
    });
    client.on('error', (error) => this.options.logger.warn({ err: error }, 'spare pool session lost'));
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    return client;
  }

  /** Connects, sets up the provisioner role when connected as a superuser, and opens the DDL pool. */
  static async connect(options: SiteDatabaseServerOptions): Promise<SiteDatabaseServer> {
    const url = new URL(options.siteDatabaseUrl);
    const setup = new Client({ connectionString: url.toString(), application_name: 'sitesaga-databases-setup', connectionTimeoutMillis: 10_000 });
    // A server that goes away during setup fails the query in flight (and so the boot); an
    // 'error' event without a listener would instead kill the process from nowhere.
    setup.on('error', (error) => options.logger.warn({ err: error }, 'site server setup session failed'));
    await setup.connect();
    let mode: ProvisionerMode;
    let poolUrl = url;
    let sessionOptions = SESSION_OPTIONS;
    let serverVersion: number;
    try {
      const { rows } = await setup.query<{ name: string; rolsuper: boolean; rolcreatedb: boolean; rolcreaterole: boolean; version: number }>(
        `SELECT current_user AS name, rolsuper, rolcreatedb, rolcreaterole, current_setting('server_version_num')::int AS version
           FROM pg_roles WHERE rolname = current_user`,
      );
      const me = rows[0]!;
      serverVersion = me.version;
      if (me.rolsuper) {
        const done = await ensureProvisionerRole(setup, options.provisionerPassword);
        options.logger.info({ role: PROVISIONER_ROLE, done }, 'provisioner role ready');
        const template1 = new URL(url);
        template1.pathname = '/template1';
        const restricted = await restrictPublicAccess(setup, decodeURIComponent(url.pathname.slice(1)) || 'postgres', template1);
        options.logger.info(
          { revoked: restricted.revoked.length, databases: restricted.revoked.slice(0, 20), template1Schema: restricted.template1Schema },
          'site server: PUBLIC may connect to the sites\' own databases only',
        );
        const login = new URL(url);
        login.username = PROVISIONER_ROLE;
        login.password = options.provisionerPassword ? encodeURIComponent(options.provisionerPassword) : '';
        if (await canLogIn(login)) {
          mode = 'login';
          poolUrl = login;
        } else {
          mode = 'set-role';
          sessionOptions = `-c role=${PROVISIONER_ROLE} ${SESSION_OPTIONS}`;
        }
      } else if (me.rolcreatedb && me.rolcreaterole) {
        mode = 'configured-role';
        options.logger.warn(
          'SITE_DATABASE_URL is no superuser: revoke CONNECT and TEMPORARY from PUBLIC on every database but the sites\' yourself (infra/README.md, "Least privilege")',
        );
      } else {
        throw new Error(
          `SITE_DATABASE_URL logs in as "${me.name}", which is neither a superuser nor has CREATEDB and CREATEROLE; ` +
            `give it those (or a superuser, which then creates ${PROVISIONER_ROLE})`,
        );
      }
    } finally {
      await setup.end();
    }
    const pool = new Pool({
      connectionString: poolUrl.toString(),
      options: sessionOptions,
      max: options.poolSize,
      idleTimeoutMillis: 30_000,
      // An unreachable server fails a checkout (a transient error, retried) instead of hanging it.
      connectionTimeoutMillis: 10_000,
      application_name: 'sitesaga-databases',
    });
    // An idle session that dies (server restart) must not crash the process; the next checkout reconnects.
    pool.on('error', (error) => options.logger.warn({ err: error }, 'idle site server session failed'));
    const server = new SiteDatabaseServer(pool, mode, serverVersion, options, { url: poolUrl, options: sessionOptions });
    await server.withSession(async (session) => {
      const { rows } = await session.query<{ name: string; rolsuper: boolean }>(
        'SELECT current_user AS name, rolsuper FROM pg_roles WHERE rolname = current_user',
      );
      // A last guard: site DDL never runs with superuser rights.
      if (rows[0]?.rolsuper) throw new Error(`site DDL would run as superuser "${rows[0].name}"; refusing`);
      options.logger.info({ mode, ddlRole: rows[0]?.name, serverVersion, spares: server.spares ? options.spares?.size : 0 }, 'site database server ready');
    });
    server.spares?.start();
    return server;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.spares?.stop();
    await this.pool.end();
  }

  /**
   * Ensures the role (LOGIN, the password's SCRAM verifier, CONNECTION LIMIT) and the
   * database (owned by the role; only the role may connect). `resetPassword` sets the
   * verifier of a role that already exists: a role left by an attempt whose record never
   * committed had another password.
   */
  async provision(names: SiteDatabaseNames, password: string, options: { resetPassword: boolean }): Promise<void> {
    const role = quoteIdentifier(names.roleName);
    const database = quoteIdentifier(names.databaseName);
    const limit = this.options.siteConnectionLimit;
    await this.busyWhile(() =>
      this.withSession(async (session) => {
        let cachedLogin: string | undefined;
        const loginClause = async (): Promise<string> =>
          (cachedLogin ??= `LOGIN PASSWORD ${quoteLiteral(await scramSha256Verifier(password))} CONNECTION LIMIT ${limit}`);
        // A first attempt (no record) claims a spare: one round trip. A spare is never claimed
        // for a site whose role or database exists (the claim fails as a whole, 'site-exists').
        if (options.resetPassword && this.spares && (await this.spares.claim(session, names, await loginClause())) === 'claimed') return;
        let state = await inspect(session, names);
        if (!state.role_exists || options.resetPassword) {
          const login = await loginClause();
          if (!state.role_exists) {
            await session.query(`CREATE ROLE ${role} ${login}`).catch(async (error: unknown) => {
              if (codeOf(error) !== '42710') throw error; // created meanwhile: set what we wanted
              await alterRole(session, role, login);
            });
          } else {
            await alterRole(session, role, login);
          }
          state = await inspect(session, names);
        }
        // Owning the database as the role, and dropping it later, needs the role's privileges:
        // PG ≤ 15 lets a CREATEROLE role grant itself any role; PG 16+ gives the creator ADMIN
        // (but neither INHERIT nor SET) on the roles it creates, enough to grant itself both.
        if (!state.role_usable) await session.query(`GRANT ${role} TO CURRENT_USER`);
        if (state.database_owner === null) {
          await this.createDatabase(session, database, role);
        } else if (state.database_owner !== names.roleName) {
          await session.query(`ALTER DATABASE ${database} OWNER TO ${role}`);
        }
        await session.query(`REVOKE ALL ON DATABASE ${database} FROM PUBLIC; GRANT CONNECT, TEMPORARY ON DATABASE ${database} TO ${role}`);
      }),
    );
  }

  /**
   * The site's database, the slow way (no spare was ready). A copy of the spare pool's
   * template when there is one: it already holds the WordPress schema, so bootstrap skips
   * the DDL, most of a site's work. Else a copy of template1, and bootstrap builds the schema.
   * Both WAL-log the copy (PostgreSQL 15's default strategy): FILE_COPY would force two
   * checkpoints per site onto the critical path, with every other write waiting behind them.
   */
  private async createDatabase(session: PoolClient, database: string, role: string): Promise<void> {
    let template = this.spares?.readyTemplate ?? null;
    for (;;) {
      try {
        await session.query(`CREATE DATABASE ${database} OWNER ${role}${template ? ` TEMPLATE ${quoteIdentifier(template)}` : ''}`);
        return;
      } catch (error) {
        const code = codeOf(error);
        if (code === '42P04' || code === '23505') return; // created meanwhile
        if (code === '3D000' && template) {
          // The template went away (swept by a replica of another schema version): template1.
          this.spares?.templateGone();
          template = null;
          continue;
        }
        // "source database … is being accessed by other users": it will pass.
        if (code === '55006') throw new TransientFailure(`${template ?? 'template1'} is in use; CREATE DATABASE will be retried`, { cause: error });
        throw error;
      }
    }
  }

  /**
   * Drops the database (ending its sessions) and then the role (ending its sessions
   * elsewhere). Whatever is already gone counts as dropped. Returns whether anything existed.
   */
  async drop(names: SiteDatabaseNames): Promise<boolean> {
    const role = quoteIdentifier(names.roleName);
    const database = quoteIdentifier(names.databaseName);
    return this.busyWhile(() =>
      this.withSession(async (session) => {
        const state = await inspect(session, names);
        // Dropping a database the role owns and ending the role's sessions need its privileges.
        if (state.role_exists && !state.role_usable) await session.query(`GRANT ${role} TO CURRENT_USER`);
        if (state.database_owner !== null) await session.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
        if (state.role_exists) {
          await session.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()', [names.roleName]);
          await session.query(`DROP ROLE IF EXISTS ${role}`);
        }
        return state.role_exists || state.database_owner !== null;
      }),
    );
  }

  /**
   * One page of the site databases or login roles on the server, by name after `after`:
   * only names of the platform's site namespace (`site_` + 32 hex digits: what
   * siteDatabaseNames gives), so the warm pool's spares and templates, the platform's own
   * databases and anything else on the server are never listed. One indexed statement.
   */
  async listSiteObjects(kind: 'databases' | 'roles', after: string | null, limit: number, only: string | null = null): Promise<string[]> {
    const [table, column] = kind === 'databases' ? ['pg_database', 'datname'] : ['pg_roles', 'rolname'];
    return this.withSession(async (session) => {
      const { rows } = await session.query<{ name: string }>(
        `SELECT ${column}::text AS name FROM ${table}
          WHERE ${column} ~ '^site_[0-9a-f]{32}$' AND ($1::text IS NULL OR ${column}::text > $1::text)
            AND ($3::text IS NULL OR ${column}::text = $3::text)
          ORDER BY ${column}::text LIMIT $2`,
        [after, limit, only],
      );
      return rows.map((row) => row.name);
    });
  }

  /** Critical-path work: the spare pool's refill waits while any is in flight. */
  private busyWhile<T>(work: () => Promise<T>): Promise<T> {
    return this.spares ? this.spares.busyWhile(work) : work();
  }

  private async withSession<T>(work: (session: PoolClient) => Promise<T>): Promise<T> {
    const session = await this.pool.connect();
    let broken: Error | undefined;
    // pg-pool takes its own 'error' listener off a session while it is checked out, and pg
    // emits 'error' on a session whose server goes away (restart, pg_terminate_backend)
    // even while a query is in flight: without a listener of ours that event would kill
    // the process. The query in flight fails on its own; the session is thrown away.
    const onError = (error: Error) => {
      broken = error;
      this.options.logger.warn({ err: error }, 'site server session lost');
    };
    session.on('error', onError);
    try {
      return await work(session);
    } catch (error) {
      // A server error leaves the session usable; anything else (a lost connection) does not.
      if (!(error instanceof DatabaseError) && !(error instanceof TransientFailure)) broken ??= error as Error;
      // The server's own "terminating connection" (57P01…) arrives as a DatabaseError.
      if (error instanceof DatabaseError && /^(08|57P)/.test(error.code ?? '')) broken ??= error;
      throw error;
    } finally {
      session.removeListener('error', onError);
      session.release(broken);
    }
  }
}

async function inspect(session: PoolClient, names: SiteDatabaseNames): Promise<SiteState> {
  const { rows } = await session.query<SiteState>(
    `SELECT r.oid IS NOT NULL AS role_exists,
            COALESCE(r.oid IS NOT NULL AND pg_has_role(current_user, r.oid, 'USAGE'), false) AS role_usable,
            (SELECT pg_get_userbyid(d.datdba) FROM pg_database d WHERE d.datname = $2) AS database_owner
       FROM (SELECT 1) AS one LEFT JOIN pg_roles r ON r.rolname = $1`,
    [names.roleName, names.databaseName],
  );
  return rows[0]!;
}

async function canLogIn(url: URL): Promise<boolean> {
  const probe = new Client({ connectionString: url.toString(), application_name: 'sitesaga-databases-setup', connectionTimeoutMillis: 5_000 });
  probe.on('error', () => undefined); // a lost probe session only means "cannot log in"
  try {
    await probe.connect();
    return true;
  } catch {
    return false;
  } finally {
    await probe.end().catch(() => undefined);
  }
}
