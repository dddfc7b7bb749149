import { type SiteDatabaseNames, WORDPRESS_SCHEMA, WORDPRESS_TABLES } from '@sitesaga/contracts';
import { type Client, DatabaseError, type PoolClient } from 'pg';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { SpareDatabaseNames } from '../domain/spare-database-names';
import { quoteIdentifier, quoteLiteral } from '../domain/sql-quoting';

export interface SpareDatabasePoolOptions {
  /** How many spares to keep ready (0: no pool). */
  readonly size: number;
  /** How many spares may be built at once. */
  readonly refillConcurrency: number;
  readonly names: SpareDatabaseNames;
  /** ` STRATEGY FILE_COPY` or '': how spares are copied from the template. */
  readonly strategyClause: string;
  /** A DDL session of its own (as the provisioner), on the server's database or on `database`. */
  readonly openSession: (database?: string) => Promise<Client>;
  readonly logger: Logger;
  readonly registry?: Registry;
}

/** Advisory lock class (two-int form) of a spare or template name: held while it is built or claimed. */
const POOL_LOCK = 7_321_005;
/** Refill waits this long after the last provisioning or drop ended: it never competes with the critical path. */
const QUIET_MS = 50;
const RETRY_MS = { first: 1_000, max: 30_000 };
const STOP_WAIT_MS = 10_000;

const codeOf = (error: unknown): string | undefined => (error instanceof DatabaseError ? error.code : undefined);
const lockOf = (name: string): string => `${POOL_LOCK}, hashtext(${quoteLiteral(name)})`;
/**
 * Whether the spare role `r` has its database `d` complete: owned by it, open to connections,
 * closed to PUBLIC; the role not yet able to log in (a claim gives it LOGIN).
 */
const READY_SQL = `COALESCE(d.datdba = r.oid AND NOT r.rolcanlogin AND d.datallowconn AND NOT has_database_privilege('public', d.oid, 'CONNECT'), false)`;

type ClaimOutcome = 'claimed' | 'empty' | 'site-exists';

/**
 * A warm pool of spare site databases. A spare is a database copied from a template that
 * already holds the WordPress schema, owned by a role of its own (NOLOGIN, no password) that
 * may connect to it and nowhere else granted; nobody else may connect to it. Provisioning
 * claims one in one round trip and one transaction: the role renamed to the site's name,
 * given LOGIN, the password's verifier and the connection limit, the database renamed to the
 * site's name (OIDs keep the ownership and the grants). Either the whole claim commits or
 * nothing did. In the background the pool builds spares back up to `size`, at most
 * `refillConcurrency` at a time, and only while no provisioning or drop is in flight.
 *
 * What a kill -9 can leave: a spare half built (a role without its database, a database
 * still open to PUBLIC) or a template build. Each is built under a session advisory lock
 * on its name, which dies with the session; `start()` drops every half-built spare whose
 * lock is free, and spares and templates of another schema version.
 */
export class SpareDatabasePool {
  private readonly ready: string[] = [];
  /** Spares this process is claiming right now: taken out of `ready`, not yet known gone. */
  private readonly claiming = new Set<string>();
  private building = 0;
  private builders = 0;
  private busy = 0;
  private lastBusyEnd = 0;
  private readonly idleWaiters: (() => void)[] = [];
  private stopped = false;
  private templateReady = false;
  private retryDelay = RETRY_MS.first;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Sweeps again while the last sweep left a spare whose lock was still held: half built, or being claimed (see sweep). */
  private resweepTimer: NodeJS.Timeout | undefined;
  private resweepDelay = RETRY_MS.first;
  private started = false;
  private swept = false;
  private readonly sessions = new Set<Client>();
  /** Background work in flight (recovery, builders): stop() lets it end cleanly. */
  private readonly running = new Set<Promise<void>>();
  private readonly spares?: Gauge;
  private readonly claims?: Counter;
  private readonly misses?: Counter;
  private readonly built?: Counter;
  private readonly failures?: Counter;

  constructor(private readonly options: SpareDatabasePoolOptions) {
    const registers = options.registry ? [options.registry] : undefined;
    if (registers) {
      this.spares = new Gauge({ name: 'site_database_pool_spares', help: 'Spare site databases ready to be claimed', registers });
      new Gauge({ name: 'site_database_pool_size', help: 'Spare site databases the pool keeps ready (SITE_DATABASE_POOL_SIZE)', registers }).set(options.size);
      this.claims = new Counter({ name: 'site_database_pool_claims_total', help: 'Site databases provisioned by claiming a spare', registers });
      this.misses = new Counter({ name: 'site_database_pool_misses_total', help: 'Site databases provisioned the slow way: no spare was ready', registers });
      this.built = new Counter({ name: 'site_database_pool_refills_total', help: 'Spare site databases built', registers });
      this.failures = new Counter({ name: 'site_database_pool_refill_failures_total', help: 'Spare builds that failed (retried later)', registers });
    }
  }

  get readyCount(): number {
    return this.ready.length;
  }

  /** Sweeps what a crash left, takes the ready spares, and starts refilling: in the background. */
  start(): void {
    if (this.options.size === 0 || this.started) return;
    this.started = true;
    this.track(this.recover());
  }

  private track(work: Promise<void>): void {
    this.running.add(work);
    work.finally(() => this.running.delete(work)).catch(() => undefined);
  }

  /**
   * Stops refilling: a build in flight finishes its statement and drops what it built (up
   * to STOP_WAIT_MS), then the sessions end. A build cut off anyway is half built: its lock
   * ends with its session, and the next start sweeps it.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.resweepTimer);
    for (const wake of this.idleWaiters.splice(0)) wake();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.running]), new Promise((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)))]);
    clearTimeout(timer);
    await Promise.all([...this.sessions].map((session) => session.end().catch(() => undefined)));
  }

  /** Runs critical-path work; refill waits until none is in flight (and QUIET_MS more). */
  async busyWhile<T>(work: () => Promise<T>): Promise<T> {
    this.busy += 1;
    try {
      return await work();
    } finally {
      this.busy -= 1;
      this.lastBusyEnd = Date.now();
      if (this.busy === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /**
   * Claims a spare for `names` on `session`, in one round trip (one implicit transaction):
   * `login` is the role's `LOGIN PASSWORD '<verifier>' CONNECTION LIMIT n`. 'empty': no
   * spare was ready (the caller provisions the slow way). 'site-exists': the site's role or
   * database already exists (an earlier attempt): the spare stays, the caller finishes the
   * slow way.
   */
  async claim(session: PoolClient, names: SiteDatabaseNames, login: string): Promise<ClaimOutcome> {
    for (;;) {
      const spare = this.ready.shift();
      if (spare === undefined) {
        this.misses?.inc();
        this.refill();
        return 'empty';
      }
      this.spares?.set(this.ready.length);
      const id = quoteIdentifier(spare);
      this.claiming.add(spare);
      try {
        // The lock waits for another replica's claim of the same spare to end; after it, a
        // claimed spare is simply gone (42704).
        await session.query(
          `SELECT pg_advisory_xact_lock(${lockOf(spare)});
           ALTER ROLE ${id} RENAME TO ${quoteIdentifier(names.roleName)};
           ALTER ROLE ${quoteIdentifier(names.roleName)} ${login};
           ALTER DATABASE ${id} RENAME TO ${quoteIdentifier(names.databaseName)}`,
        );
        this.claims?.inc();
        this.refill();
        return 'claimed';
      } catch (error) {
        const code = codeOf(error);
        if (code === '42704' || code === '3D000') continue; // claimed by another replica, or swept: next
        if (code === '55006') {
          // Someone is connected to the spare: it cannot be renamed now. Left out of this
          // process' pool (the next start takes it back); the next one is tried.
          this.options.logger.warn({ spare }, 'spare database in use; skipped');
          continue;
        }
        this.ready.unshift(spare);
        this.spares?.set(this.ready.length);
        if (code === '42710' || code === '42P04') return 'site-exists';
        // Anything else (a lost connection: the claim may or may not have committed; if it
        // did, the spare is gone and its next claim moves on): the caller's retry decides.
        throw error;
      } finally {
        this.claiming.delete(spare);
      }
    }
  }

  // ---- background work -------------------------------------------------------------

  private async recover(): Promise<void> {
    try {
      await this.withOwnSession(async (session) => {
        await this.sweep(session);
        await this.ensureTemplate(session);
      });
      this.retryDelay = RETRY_MS.first;
      this.refill();
    } catch (error) {
      this.retryLater(error, () => this.track(this.recover()));
    }
  }

  /**
   * A ready spare joins the pool once: a builder and a sweep (which lists every ready spare
   * on the server, this process' own new ones too) may both find the same one.
   */
  private keepReady(name: string): void {
    if (!this.ready.includes(name) && !this.claiming.has(name)) this.ready.push(name);
    this.spares?.set(this.ready.length);
  }

  /**
   * Forgets spares that are gone from the server: claimed by another replica, or dropped.
   * Every name in `ready` was added after its spare was complete and committed, so a
   * snapshot taken after this call began that lacks it means it is gone for good.
   */
  private async forgetGone(session: Client): Promise<void> {
    if (this.ready.length === 0) return;
    const listed = [...this.ready];
    const { rows } = await session.query<{ name: string }>('SELECT rolname AS name FROM pg_roles WHERE rolname = ANY($1::text[])', [listed]);
    const present = new Set(rows.map((row) => row.name));
    // Only what was asked about: a spare built meanwhile is not in the answer, and stays.
    const gone = new Set(listed.filter((name) => !present.has(name)));
    if (gone.size === 0) return;
    for (let index = this.ready.length - 1; index >= 0; index -= 1) if (gone.has(this.ready[index]!)) this.ready.splice(index, 1);
    this.spares?.set(this.ready.length);
  }

  /** Drops half-built spares (lock free), spares and templates of other versions; keeps the ready ones. */
  private async sweep(session: Client): Promise<void> {
    const { names } = this.options;
    await this.forgetGone(session);
    const { rows } = await session.query<{ name: string; ready: boolean }>(
      `SELECT r.rolname AS name, ${READY_SQL} AS ready FROM pg_roles r LEFT JOIN pg_database d ON d.datname = r.rolname WHERE left(r.rolname, length($1)) = $1`,
      [names.sparePrefix],
    );
    let swept = 0;
    let held = 0;
    for (const { name, ready } of rows) {
      if (!names.isSpare(name) || this.claiming.has(name)) continue;
      if (ready && names.isCurrentSpare(name) && this.ready.includes(name)) continue;
      const outcome = await this.settle(session, name);
      if (outcome === 'dropped') swept += 1;
      else if (outcome === 'held') held += 1;
    }
    // A spare whose build lock is held is being built by another replica, or was by a
    // session that died mid-statement (a CREATE DATABASE runs to its end on the server, lock
    // held, after its client was killed): sweep again until it is either ready or gone, even
    // when the pool is full and no builder would come by.
    this.resweepIfHeld(held);
    const templates = await session.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE left(datname, length($1)) = $1 AND datname <> $2`, [
      names.templatePrefix,
      names.template,
    ]);
    for (const { datname } of templates.rows) {
      // A build of the current template is another replica's until its lock is free.
      const owner = datname === names.templateBuild ? names.template : datname;
      const { rows: got } = await session.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(${lockOf(owner)}) AS locked`);
      if (!got[0]?.locked) continue;
      try {
        await session.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(datname)} WITH (FORCE)`);
        swept += 1;
      } finally {
        await session.query(`SELECT pg_advisory_unlock(${lockOf(owner)})`);
      }
    }
    this.spares?.set(this.ready.length);
    if (swept > 0 || !this.swept) this.options.logger.info({ ready: this.ready.length, swept }, 'spare database pool swept');
    this.swept = true;
  }

  private resweepIfHeld(held: number): void {
    clearTimeout(this.resweepTimer);
    this.resweepTimer = undefined;
    if (held === 0 || this.stopped) {
      this.resweepDelay = RETRY_MS.first;
      return;
    }
    this.resweepTimer = setTimeout(() => {
      this.resweepTimer = undefined;
      if (this.stopped) return;
      this.track(
        this.withOwnSession((session) => this.sweep(session)).then(
          () => this.refill(),
          (error: unknown) => {
            if (!this.stopped) this.options.logger.warn({ err: error }, 'spare database pool: sweep failed; retrying later');
            this.resweepIfHeld(held);
          },
        ),
      );
    }, this.resweepDelay);
    this.resweepTimer.unref();
    this.resweepDelay = Math.min(this.resweepDelay * 2, RETRY_MS.max);
  }

  /**
   * Settles one spare the sweep listed, under its lock: nobody builds or claims it meanwhile
   * (a build holds the lock until the spare is complete, a claim until it commits). The
   * listing's snapshot may be older than either, so the spare is looked at afresh first:
   * taken for half built, a spare whose build just ended would be dropped under its builder;
   * taken for ready, a spare a claim just renamed (this process', another replica's, or a
   * killed process' claim running on to its commit on its orphaned backend) would be counted
   * by refill but gone. Ready and of this version: kept; else dropped, database then role.
   * 'held': its lock is taken, the sweep looks again later.
   */
  private async settle(session: Client, name: string): Promise<'kept' | 'dropped' | 'gone' | 'held'> {
    const { rows } = await session.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(${lockOf(name)}) AS locked`);
    if (!rows[0]?.locked) return 'held';
    try {
      // A statement of its own: its snapshot is taken after the lock was granted.
      const { rows: found } = await session.query<{ ready: boolean; usable: boolean }>(
        `SELECT ${READY_SQL} AS ready, pg_has_role(current_user, r.oid, 'USAGE') AS usable
           FROM pg_roles r LEFT JOIN pg_database d ON d.datname = r.rolname WHERE r.rolname = $1`,
        [name],
      );
      const [state] = found;
      if (state === undefined) return 'gone';
      if (state.ready && this.options.names.isCurrentSpare(name)) {
        this.keepReady(name);
        return 'kept';
      }
      const id = quoteIdentifier(name);
      // The provisioner is a member of every spare role it built (GRANT in the same
      // transaction as CREATE ROLE); a role made otherwise is granted first, as for sites.
      if (!state.usable) await session.query(`GRANT ${id} TO CURRENT_USER`);
      await session.query(`DROP DATABASE IF EXISTS ${id} WITH (FORCE)`);
      await session.query(`DROP ROLE IF EXISTS ${id}`);
      return 'dropped';
    } finally {
      await session.query(`SELECT pg_advisory_unlock(${lockOf(name)})`);
    }
  }

  /**
   * The template's name while it is known to be built, else null. Provisioning without a
   * spare copies it too: the copy holds the WordPress schema, so bootstrap skips the DDL.
   */
  get readyTemplate(): string | null {
    return this.templateReady ? this.options.names.template : null;
  }

  /** A copy found the template gone (a replica of another schema version swept it): the next refill builds it again. */
  templateGone(): void {
    this.templateReady = false;
  }

  /**
   * The template: built once per schema version (by one replica: the lock), as
   * `…_build`, then renamed, so its final name means complete. Its tables belong to
   * pg_database_owner: in every copy, whoever owns the database (the spare's role, then the
   * site's) owns them, with no connection to the copy needed.
   */
  private async ensureTemplate(session: Client): Promise<void> {
    if (this.templateReady) return;
    const { names } = this.options;
    const exists = async (): Promise<boolean> => (await session.query('SELECT 1 FROM pg_database WHERE datname = $1', [names.template])).rowCount === 1;
    if (!(await exists())) {
      await session.query(`SELECT pg_advisory_lock(${lockOf(names.template)})`);
      try {
        if (!(await exists())) {
          const build = quoteIdentifier(names.templateBuild);
          await session.query(`DROP DATABASE IF EXISTS ${build} WITH (FORCE)`);
          await session.query(`CREATE DATABASE ${build}${this.options.strategyClause}`);
          await session.query(`REVOKE ALL ON DATABASE ${build} FROM PUBLIC`);
          const inTemplate = await this.options.openSession(names.templateBuild);
          try {
            const owners = WORDPRESS_TABLES.map((table) => `ALTER TABLE ${table} OWNER TO pg_database_owner;`).join('\n');
            await inTemplate.query(`${WORDPRESS_SCHEMA}\n${owners}`); // one implicit transaction
          } finally {
            await inTemplate.end();
          }
          // Waits (up to 5 s) for the session just ended to leave the database.
          await session.query(`ALTER DATABASE ${build} RENAME TO ${quoteIdentifier(names.template)}`);
          this.options.logger.info({ template: names.template }, 'spare database template built');
        }
      } finally {
        await session.query(`SELECT pg_advisory_unlock(${lockOf(names.template)})`);
      }
    }
    this.templateReady = true;
  }

  /** Starts builders until ready + building reaches the pool size. */
  private refill(): void {
    if (this.stopped || !this.started || this.retryTimer) return;
    while (this.builders < this.options.refillConcurrency && this.ready.length + this.building < this.options.size) {
      this.builders += 1;
      this.track(
        this.builder().finally(() => {
          this.builders -= 1;
        }),
      );
    }
  }

  private async builder(): Promise<void> {
    try {
      await this.withOwnSession(async (session) => {
        // What a dead session's statement finished after the last sweep (a CREATE DATABASE
        // runs to its end on the server, lock held, after its client is gone) goes now.
        await this.sweep(session);
        while (!this.stopped && this.ready.length + this.building < this.options.size) {
          this.building += 1;
          try {
            await this.quiet();
            if (this.stopped) return;
            await this.ensureTemplate(session);
            const spare = await this.buildSpare(session);
            if (spare === null) return;
            this.keepReady(spare);
            this.built?.inc();
            this.retryDelay = RETRY_MS.first;
          } finally {
            this.building -= 1;
          }
        }
      });
    } catch (error) {
      if (this.stopped) return;
      this.failures?.inc();
      if (codeOf(error) === '3D000') this.templateReady = false; // the template went away: rebuilt next time
      this.retryLater(error, () => this.refill());
    }
  }

  /**
   * Three round trips under the spare's lock: the role (NOLOGIN) and the provisioner's
   * membership in it; the database copied from the template, owned by the role; its grants
   * (PUBLIC out, the role in). Refill pauses between them while provisioning is busy.
   * Returns null when stopped midway (the half-built spare is dropped).
   */
  private async buildSpare(session: Client): Promise<string | null> {
    const spare = this.options.names.newSpare();
    const id = quoteIdentifier(spare);
    let complete = false;
    await session.query(`SELECT pg_advisory_lock(${lockOf(spare)})`);
    try {
      await session.query(`CREATE ROLE ${id} NOLOGIN; GRANT ${id} TO CURRENT_USER`);
      await this.quiet();
      if (this.stopped) return null;
      // Closed to everyone until PUBLIC's access is taken: nobody can reach a spare mid-build
      // (CREATE DATABASE cannot share a transaction with the REVOKE), and a closed spare is
      // never taken for a ready one by the sweep.
      await session.query(`CREATE DATABASE ${id} OWNER ${id} TEMPLATE ${quoteIdentifier(this.options.names.template)}${this.options.strategyClause} ALLOW_CONNECTIONS false`);
      await this.quiet();
      if (this.stopped) return null;
      await session.query(`REVOKE ALL ON DATABASE ${id} FROM PUBLIC; GRANT CONNECT, TEMPORARY ON DATABASE ${id} TO ${id}; ALTER DATABASE ${id} ALLOW_CONNECTIONS true`);
      complete = true;
      return spare;
    } finally {
      if (!complete) {
        await session.query(`DROP DATABASE IF EXISTS ${id} WITH (FORCE)`).catch(() => undefined);
        await session.query(`DROP ROLE IF EXISTS ${id}`).catch(() => undefined);
      }
      await session.query(`SELECT pg_advisory_unlock(${lockOf(spare)})`).catch(() => undefined);
    }
  }

  /** Resolves when no provisioning or drop has been in flight for QUIET_MS (or when stopped). */
  private async quiet(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      if (this.busy > 0) {
        await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
        continue;
      }
      const wait = this.lastBusyEnd + QUIET_MS - Date.now();
      if (wait <= 0) return;
      await new Promise((resolve) => setTimeout(resolve, wait).unref());
    }
  }

  private retryLater(error: unknown, again: () => void): void {
    if (this.stopped) return;
    this.options.logger.warn({ err: error, retryInMs: this.retryDelay }, 'spare database pool: refill failed; retrying later');
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      again();
    }, this.retryDelay);
    this.retryTimer.unref();
    this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MS.max);
  }

  private async withOwnSession<T>(work: (session: Client) => Promise<T>): Promise<T> {
    const session = await this.options.openSession();
    this.sessions.add(session);
    try {
      return await work(session);
    } finally {
      this.sessions.delete(session);
      await session.end().catch(() => undefined);
    }
  }
}
