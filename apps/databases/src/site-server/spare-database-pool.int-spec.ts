import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { siteDatabaseNames, WORDPRESS_SCHEMA_MARK, WORDPRESS_SCHEMA_VERSION, WORDPRESS_TABLES } from '@sitesaga/contracts';
import { waitFor } from '../../../../test/support/wait-for';
import { generateDatabasePassword } from '../domain/database-password';
import { spareDatabaseNames } from '../domain/spare-database-names';
import { quoteIdentifier } from '../domain/sql-quoting';
import { SiteDatabaseServer } from './site-database-server';

jest.setTimeout(180_000);

const warnings: unknown[] = [];
const quiet = { info: () => undefined, warn: (...args: unknown[]) => warnings.push(args), child: () => quiet } as unknown as Logger;
const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * The warm pool of spare site databases against the real server: what a spare is (least
 * privilege), what a claim leaves (a site database like any other, schema included), the
 * fallback when the pool is empty, the refill, and the sweep of what a kill -9 leaves.
 * Each server here has a prefix of its own, and everything it names is dropped at the end.
 */
describe('the spare database pool', () => {
  // Each test has a deployment (a prefix) of its own under this one; everything under it is dropped at the end.
  const base = `int_pool_${randomBytes(3).toString('hex')}_`;
  let prefix = base;
  let names = spareDatabaseNames(prefix, WORDPRESS_SCHEMA_VERSION);
  let tests = 0;
  const sites: string[] = [];
  const servers: SiteDatabaseServer[] = [];
  let admin: Client;

  const connect = async (size: number, registry = new Registry()): Promise<{ server: SiteDatabaseServer; registry: Registry }> => {
    const server = await SiteDatabaseServer.connect({
      siteDatabaseUrl: serverUrl,
      provisionerPassword: undefined,
      siteConnectionLimit: 20,
      poolSize: 2,
      logger: quiet,
      spares: { size, refillConcurrency: 1, namePrefix: prefix },
      registry,
    });
    servers.push(server);
    return { server, registry };
  };
  const metric = async (registry: Registry, name: string): Promise<number> => (await registry.getSingleMetric(name)?.get())?.values[0]?.value ?? NaN;
  const spareRoles = async (): Promise<string[]> =>
    (await admin.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE left(rolname, length($1)) = $1 ORDER BY 1', [names.sparePrefix])).rows.map(
      (row) => row.rolname,
    );
  const spareDatabases = async (): Promise<string[]> =>
    (await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE left(datname, length($1)) = $1 ORDER BY 1', [names.sparePrefix])).rows.map(
      (row) => row.datname,
    );
  const asSite = async <T>(siteId: string, password: string, work: (client: Client) => Promise<T>): Promise<T> => {
    const { roleName, databaseName } = siteDatabaseNames(siteId);
    const url = new URL(serverUrl);
    url.username = roleName;
    url.password = password;
    url.pathname = `/${databaseName}`;
    const client = new Client({ connectionString: url.toString() });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  const provision = async (server: SiteDatabaseServer): Promise<{ siteId: string; password: string }> => {
    const siteId = randomUUID();
    sites.push(siteId);
    const password = generateDatabasePassword();
    await server.provision(siteDatabaseNames(siteId), password, { resetPassword: true });
    return { siteId, password };
  };

  beforeAll(async () => {
    admin = new Client({ connectionString: serverUrl });
    await admin.connect();
  });

  beforeEach(() => {
    tests += 1;
    prefix = `${base}${tests}_`;
    names = spareDatabaseNames(prefix, WORDPRESS_SCHEMA_VERSION);
  });

  afterEach(() => {
    // Nothing went wrong quietly (a failed build or sweep only logs and retries).
    expect(warnings).toEqual([]);
  });

  afterAll(async () => {
    for (const server of servers) await server.onApplicationShutdown().catch(() => undefined);
    const { server: cleanup } = await connect(0);
    for (const siteId of sites) await cleanup.drop(siteDatabaseNames(siteId));
    await cleanup.onApplicationShutdown();
    const databases = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE left(datname, length($1)) = $1', [base]);
    for (const { datname } of databases.rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    const roles = await admin.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE left(rolname, length($1)) = $1', [base]);
    for (const { rolname } of roles.rows) await admin.query(`DROP ROLE IF EXISTS "${rolname}"`);
    await admin.end();
  });

  it('keeps spares that only their own role may reach, copied from a template nobody may connect to', async () => {
    const { server, registry } = await connect(2);
    await waitFor(() => server.spares!.readyCount === 2, { within: '60s', what: 'two spares ready' });
    expect(await metric(registry, 'site_database_pool_spares')).toBe(2);

    const template = await admin.query('SELECT has_database_privilege($2, datname, $3) AS public_connect FROM pg_database WHERE datname = $1', [
      names.template,
      'public',
      'CONNECT',
    ]);
    expect(template.rows).toEqual([{ public_connect: false }]);
    const spares = await admin.query<{ name: string; login: boolean; super: boolean; owner: string; public_connect: boolean; own_connect: boolean }>(
      `SELECT r.rolname AS name, r.rolcanlogin AS login, r.rolsuper AS super, pg_get_userbyid(d.datdba) AS owner,
              has_database_privilege('public', d.oid, 'CONNECT') AS public_connect, has_database_privilege(r.oid, d.oid, 'CONNECT') AS own_connect
         FROM pg_roles r JOIN pg_database d ON d.datname = r.rolname WHERE left(r.rolname, length($1)) = $1`,
      [names.sparePrefix],
    );
    expect(spares.rows).toHaveLength(2);
    for (const spare of spares.rows) {
      // NOLOGIN and no password until claimed; owner of its database, which PUBLIC may not reach.
      expect(spare).toEqual({ name: spare.name, login: false, super: false, owner: spare.name, public_connect: false, own_connect: true });
      const other = spares.rows.find((row) => row.name !== spare.name)!;
      const reach = await admin.query('SELECT has_database_privilege($1, $2, $3) AS ok', [spare.name, other.name, 'CONNECT']);
      expect(reach.rows[0].ok).toBe(false);
      const tmpl = await admin.query('SELECT has_database_privilege($1, $2, $3) AS ok', [spare.name, names.template, 'CONNECT']);
      expect(tmpl.rows[0].ok).toBe(false);
    }
    await server.onApplicationShutdown();
  });

  it('provisions by claiming a spare: a site database that holds the schema, reached only with the password; then refills', async () => {
    const { server, registry } = await connect(2);
    await waitFor(() => server.spares!.readyCount === 2, { within: '60s', what: 'two spares ready' });
    const before = await spareRoles();
    const { siteId, password } = await provision(server);
    const { roleName, databaseName } = siteDatabaseNames(siteId);
    expect(await metric(registry, 'site_database_pool_claims_total')).toBe(1);
    expect(await metric(registry, 'site_database_pool_misses_total')).toBe(0);

    const state = await admin.query(
      `SELECT r.rolcanlogin AS login, r.rolconnlimit AS limit, pg_get_userbyid(d.datdba) AS owner,
              has_database_privilege('public', d.oid, 'CONNECT') AS public_connect
         FROM pg_roles r JOIN pg_database d ON d.datname = $2 WHERE r.rolname = $1`,
      [roleName, databaseName],
    );
    expect(state.rows).toEqual([{ login: true, limit: 20, owner: roleName, public_connect: false }]);
    // The claimed spare is gone from the spares (renamed), one of the two that were there.
    const after = await spareRoles();
    expect(before.filter((name) => !after.includes(name))).toHaveLength(1);

    // The site's role logs in with its password and owns (through pg_database_owner) every table.
    await asSite(siteId, password, async (client) => {
      const tables = await client.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`);
      expect(tables.rows.map((row) => row.tablename)).toEqual([...WORDPRESS_TABLES].sort());
      const mark = await client.query(`SELECT obj_description('options'::regclass, 'pg_class') AS mark`);
      expect(mark.rows[0].mark).toBe(WORDPRESS_SCHEMA_MARK);
      await client.query(`INSERT INTO options (option_name, option_value) VALUES ('probe', 'x')`);
      await client.query(`ALTER TABLE links ADD COLUMN probe text`); // owner rights, as WordPress' upgrades need
      await client.query(`DELETE FROM options WHERE option_name = 'probe'`);
    });
    // A re-sent command (record present) changes nothing; a retry without one (claim committed,
    // record lost in a crash) finishes the slow way with the new password.
    await server.provision(siteDatabaseNames(siteId), password, { resetPassword: false });
    const second = generateDatabasePassword();
    await server.provision(siteDatabaseNames(siteId), second, { resetPassword: true });
    await asSite(siteId, second, async (client) => expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]));

    await waitFor(async () => (await spareRoles()).length === 2 && server.spares!.readyCount === 2, { within: '60s', what: 'the pool refilled to two' });
    expect(await metric(registry, 'site_database_pool_refills_total')).toBeGreaterThanOrEqual(1);

    // Dropped like any site: nothing of it is left.
    expect(await server.drop(siteDatabaseNames(siteId))).toBe(true);
    expect((await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1 UNION ALL SELECT 1 FROM pg_database WHERE datname = $1', [roleName])).rows).toEqual(
      [],
    );
    await server.onApplicationShutdown();
  });

  it('copies the template when the pool is empty: the site database holds the schema all the same', async () => {
    const { server, registry } = await connect(1);
    await waitFor(() => server.spares!.readyCount === 1, { within: '60s', what: 'one spare ready' });
    await server.spares!.stop(); // no refill from here on
    const claimed = await provision(server);
    const copied = await provision(server);
    expect(await metric(registry, 'site_database_pool_claims_total')).toBe(1);
    expect(await metric(registry, 'site_database_pool_misses_total')).toBe(1);
    // Both hold the schema, owned through pg_database_owner by the site's role, reached with its password.
    for (const site of [claimed, copied]) {
      await asSite(site.siteId, site.password, async (client) => {
        const tables = await client.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`);
        expect(tables.rows.map((row) => row.tablename)).toEqual([...WORDPRESS_TABLES].sort());
        expect((await client.query(`SELECT obj_description('options'::regclass, 'pg_class') AS mark`)).rows[0].mark).toBe(WORDPRESS_SCHEMA_MARK);
        await client.query(`ALTER TABLE links ADD COLUMN probe text`);
      });
    }
    const { roleName, databaseName } = siteDatabaseNames(copied.siteId);
    const state = await admin.query(
      `SELECT pg_get_userbyid(d.datdba) AS owner, has_database_privilege('public', d.oid, 'CONNECT') AS public_connect FROM pg_database d WHERE d.datname = $1`,
      [databaseName],
    );
    expect(state.rows).toEqual([{ owner: roleName, public_connect: false }]);

    // The template gone (a replica of another schema version swept it): template1, an empty
    // database, and bootstrap builds the schema.
    await admin.query(`DROP DATABASE ${quoteIdentifier(names.template)} WITH (FORCE)`);
    const plain = await provision(server);
    await asSite(plain.siteId, plain.password, async (client) => {
      expect((await client.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`)).rows[0].n).toBe(0);
    });
    expect(server.spares!.readyTemplate).toBeNull();
    await server.onApplicationShutdown();
  });

  it('copies template1 when there is no pool', async () => {
    const { server } = await connect(0);
    const site = await provision(server);
    await asSite(site.siteId, site.password, async (client) => {
      expect((await client.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`)).rows[0].n).toBe(0);
    });
    await server.onApplicationShutdown();
  });

  it('sweeps at start what a kill -9 left half built, keeps the ready spares, and leaves alone a spare being built', async () => {
    const { server } = await connect(2);
    await waitFor(() => server.spares!.readyCount === 2, { within: '60s', what: 'two spares ready' });
    await server.onApplicationShutdown();
    const ready = await spareRoles();
    expect(ready).toHaveLength(2);

    // What a build cut off after each of its steps leaves, a spare of an older schema, and a
    // template build that died: all under names of this deployment, with no lock held.
    const roleOnly = names.newSpare();
    const notRevoked = names.newSpare();
    const older = spareDatabaseNames(prefix, 'ffffffffffff').newSpare();
    const beingBuilt = names.newSpare();
    // Made as the provisioner, the way its builds make them.
    await admin.query('SET ROLE sitesaga_provisioner');
    await admin.query(`CREATE ROLE "${roleOnly}" NOLOGIN; GRANT "${roleOnly}" TO CURRENT_USER`);
    for (const name of [notRevoked, older, beingBuilt]) {
      await admin.query(`CREATE ROLE "${name}" NOLOGIN; GRANT "${name}" TO CURRENT_USER`);
      await admin.query(`CREATE DATABASE "${name}" OWNER "${name}" TEMPLATE "${names.template}" STRATEGY FILE_COPY`);
    }
    await admin.query(`REVOKE ALL ON DATABASE "${older}" FROM PUBLIC`);
    await admin.query(`CREATE DATABASE "${names.templateBuild}"`);
    await admin.query('RESET ROLE');
    // A live build elsewhere holds its spare's lock (as a builder's session does).
    const builder = new Client({ connectionString: serverUrl });
    await builder.connect();
    await builder.query(`SELECT pg_advisory_lock(7321005, hashtext($1))`, [beingBuilt]);
    try {
      const { server: next } = await connect(2);
      await waitFor(() => next.spares!.readyCount === 2, { within: '60s', what: 'the ready spares taken back' });
      const expected = [...ready, beingBuilt].sort();
      const buildLeft = async (): Promise<boolean> =>
        (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [names.templateBuild])).rows.length > 0;
      await waitFor(async () => JSON.stringify(await spareRoles()) === JSON.stringify(expected) && !(await buildLeft()), { within: '30s', what: 'the sweep' });
      const roles = await spareRoles();
      expect(roles).toEqual(expected);
      expect((await spareDatabases()).sort()).toEqual([...ready, beingBuilt].sort());
      // The pool took the two that were ready: a claim uses one of them, no build needed.
      const { siteId } = await provision(next);
      expect((await spareRoles()).filter((name) => ready.includes(name))).toHaveLength(1);
      expect(sites).toContain(siteId);
      await next.onApplicationShutdown();
    } finally {
      await builder.end();
    }
    // Its lock gone (the builder "died"), the next start sweeps it too.
    const { server: last } = await connect(2);
    await waitFor(async () => !(await spareRoles()).includes(beingBuilt), { within: '30s', what: 'the orphan swept once its lock is free' });
    await last.onApplicationShutdown();
  });
  it('counts no spare whose claim is still committing, and refills once the claim took it', async () => {
    // What a kill -9 during a claim leaves: the dead process' backend runs the claim on to its
    // commit, holding the spare's lock, while the restarted process sweeps. A spare it took
    // for ready would vanish at the commit, and the pool, counting it, would stay one short.
    const { server: first } = await connect(2);
    await waitFor(() => first.spares!.readyCount === 2, { within: '60s', what: 'two spares ready' });
    await first.onApplicationShutdown();
    const [taken] = await spareRoles();
    const claimer = new Client({ connectionString: serverUrl });
    await claimer.connect();
    let committed = false;
    try {
      await claimer.query('BEGIN');
      await claimer.query(`SELECT pg_advisory_xact_lock(7321005, hashtext($1))`, [taken]);
      await claimer.query(`ALTER ROLE "${taken}" RENAME TO "${prefix}claimed"; ALTER DATABASE "${taken}" RENAME TO "${prefix}claimed"`);
      const { server, registry } = await connect(2);
      // The other spare is taken back, and one more is built in place of the one being claimed.
      await waitFor(async () => server.spares!.readyCount === 2 && (await spareRoles()).length === 3, { within: '60s', what: 'two spares ready besides the one being claimed' });
      await claimer.query('COMMIT');
      committed = true;
      expect(await spareRoles()).toHaveLength(2);
      expect(await metric(registry, 'site_database_pool_spares')).toBe(2);
      // Both claims take a spare that is there: none is missed, and the pool builds back to two.
      await provision(server);
      await provision(server);
      expect(await metric(registry, 'site_database_pool_claims_total')).toBe(2);
      expect(await metric(registry, 'site_database_pool_misses_total')).toBe(0);
      await waitFor(async () => server.spares!.readyCount === 2 && (await spareRoles()).length === 2, { within: '60s', what: 'the pool refilled' });
      await server.onApplicationShutdown();
    } finally {
      if (!committed) await claimer.query('ROLLBACK').catch(() => undefined);
      await claimer.end();
    }
  });

  it('sweeps a half-built spare once its lock frees, while the pool stays full and running', async () => {
    // What a kill -9 during CREATE DATABASE leaves: the statement runs on to its end on the
    // server, and the dead session's backend holds the build's lock until then. The first
    // sweep must leave it; a full pool has no builder that would come by again.
    const orphan = names.newSpare();
    await admin.query(`CREATE ROLE "${orphan}" NOLOGIN`);
    await admin.query(`CREATE DATABASE "${orphan}" OWNER "${orphan}" ALLOW_CONNECTIONS false`);
    const dying = new Client({ connectionString: serverUrl });
    await dying.connect();
    await dying.query(`SELECT pg_advisory_lock(7321005, hashtext($1))`, [orphan]);
    let ended = false;
    const { server } = await connect(2);
    try {
      await waitFor(() => server.spares!.readyCount === 2, { within: '60s', what: 'two spares ready' });
      expect(await spareRoles()).toContain(orphan); // its lock is held: left alone
      await dying.end(); // the statement ended, and the session with it
      ended = true;
      await waitFor(async () => !(await spareRoles()).includes(orphan), { within: '30s', what: 'the half-built spare swept once its lock is free' });
      expect(await spareDatabases()).not.toContain(orphan);
      expect(server.spares!.readyCount).toBe(2);
      expect(await spareRoles()).toHaveLength(2);
    } finally {
      if (!ended) await dying.end();
      await server.onApplicationShutdown();
    }
  });
});
