import { randomUUID } from 'node:crypto';
import { isConnectionFailure } from '@sitesaga/messaging';
import { Client } from 'pg';
import type { Logger } from 'pino';
import { startTcpProxy, type TcpProxy } from '../../../../test/support/tcp-proxy';
import { waitFor } from '../../../../test/support/wait-for';
import { siteDatabaseNames } from '@sitesaga/contracts';
import { SiteDatabaseServer } from './site-database-server';

/**
 * The DDL connection to the site server when the server drops it (pg_terminate_backend:
 * what a restart or failover does to every session) or the network does (a TCP proxy
 * in between resets the connections or refuses new ones), without stopping the shared
 * server. The process must live on — pg emits 'error' on a lost session, even one
 * checked out of the pool, and an 'error' nobody listens to kills the process — the
 * call in flight must fail as a connection failure (which the unit of work waits out),
 * and the next call must get a fresh session.
 */
jest.setTimeout(60_000);
const warnings: unknown[] = [];
const logger = { info: () => undefined, warn: (entry: unknown) => warnings.push(entry), child: () => logger } as unknown as Logger;
const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let site: SiteDatabaseServer;
let admin: Client;
let proxy: TcpProxy;
const created: string[] = [];

/**
 * Backend pids of this file's DDL sessions: named so, run as the provisioner, and come
 * through this file's proxy. Other test files' DDL sessions share the server, and
 * terminating one of them fails that file.
 */
const ddlSessions = async (only: 'all' | 'waiting-on-a-lock' = 'all'): Promise<number[]> =>
  (
    await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity
        WHERE application_name = 'sitesaga-databases' AND client_port = ANY($1::int[])
          AND CASE WHEN $2 THEN state = 'active' AND wait_event_type = 'Lock' ELSE usename = 'sitesaga_provisioner' END`,
      [proxy.upstreamPorts(), only === 'waiting-on-a-lock'],
    )
  ).rows.map((row) => row.pid);

beforeAll(async () => {
  admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  const url = new URL(serverUrl);
  proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
  site = await SiteDatabaseServer.connect({
    siteDatabaseUrl: proxy.via(serverUrl),
    provisionerPassword: undefined,
    siteConnectionLimit: 20,
    poolSize: 1,
    logger,
  });
});

afterAll(async () => {
  for (const siteId of created) await site.drop(siteDatabaseNames(siteId)).catch(() => undefined);
  await site?.onApplicationShutdown();
  await proxy?.close();
  await admin?.end();
});

const provisionNew = async (): Promise<string> => {
  const siteId = randomUUID();
  created.push(siteId);
  await site.provision(siteDatabaseNames(siteId), 'a-password-of-this-test', { resetPassword: true });
  return siteId;
};

const databaseExists = async (siteId: string): Promise<boolean> =>
  ((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [siteDatabaseNames(siteId).databaseName])).rowCount ?? 0) === 1;

describe('the site server DDL connection', () => {
  it('reconnects after the server ends its idle session', async () => {
    await provisionNew();
    const before = await ddlSessions();
    expect(before.length).toBeGreaterThan(0);
    const heard = warnings.length;
    await admin.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [before]);
    // The pool hears of it (and says so, instead of crashing) and drops the session; the
    // next call opens a new one.
    await waitFor(() => warnings.length > heard, { within: '10s', what: 'the pool to report its lost idle session' });

    const siteId = await provisionNew();
    expect(await databaseExists(siteId)).toBe(true);
    expect((await ddlSessions()).some((pid) => !before.includes(pid))).toBe(true);
  });

  it('fails a call whose connection is reset mid-statement as a connection failure, and serves the next one', async () => {
    const siteId = await provisionNew();
    const names = siteDatabaseNames(siteId);
    // A statement that stays on the server long enough to be cut (as a restart cuts a slow
    // CREATE DATABASE): another transaction holds the role's catalog row, so the DDL
    // session's ALTER ROLE waits for it.
    const holder = new Client({ connectionString: serverUrl });
    await holder.connect();
    try {
      await holder.query(`BEGIN; ALTER ROLE "${names.roleName}" CONNECTION LIMIT 7`);
      const provisioning = site.provision(names, 'another-password', { resetPassword: true }).then(
        () => null,
        (error: unknown) => error,
      );
      const victim = await waitFor(
        async () => (await ddlSessions('waiting-on-a-lock'))[0],
        { within: '8s', what: 'the DDL session waiting on the server' },
      );
      // The link dies: no word from the server, the socket is simply reset mid-statement.
      expect(victim).toBeGreaterThan(0);
      expect(proxy.cut()).toBeGreaterThan(0);
      const error = await provisioning;
      expect(error).not.toBeNull();
      expect(isConnectionFailure(error)).toBe(true);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end().catch(() => undefined);
    }
    // Still alive, and the next call gets a fresh session: both go through now.
    await site.provision(names, 'another-password', { resetPassword: true });
    await site.drop(names);
    expect(await databaseExists(siteId)).toBe(false);
  });

  it("sets a role's password although another session changed the role at the same moment", async () => {
    // Two sessions altering one role: the second waits for the first, and when the first
    // commits Postgres fails the second with "tuple concurrently updated" (XX000). A cut
    // connection's orphaned backend can be that first session; the provision is not lost to it.
    const siteId = await provisionNew();
    const names = siteDatabaseNames(siteId);
    const holder = new Client({ connectionString: serverUrl });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`ALTER ROLE "${names.roleName}" CONNECTION LIMIT 7`);
      const provisioning = site.provision(names, 'the-password-set-last', { resetPassword: true });
      await waitFor(async () => (await ddlSessions('waiting-on-a-lock')).length > 0, { within: '8s', what: 'the DDL session waiting on the role' });
      await holder.query('COMMIT');
      await provisioning;
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end().catch(() => undefined);
    }
    // What the provision set won: its connection limit, and its password opens the database.
    const { rows } = await admin.query<{ rolconnlimit: number }>('SELECT rolconnlimit FROM pg_roles WHERE rolname = $1', [names.roleName]);
    expect(rows[0]?.rolconnlimit).toBe(20);
    const url = new URL(serverUrl);
    url.username = names.roleName;
    url.password = 'the-password-set-last';
    url.pathname = `/${names.databaseName}`;
    const login = new Client({ connectionString: url.toString() });
    await login.connect();
    await login.end();
  });

  it('fails calls as connection failures while the server cannot be reached, and works again when it can', async () => {
    await proxy.refuse();
    try {
      const error = await provisionNew().then(
        () => null,
        (caught: unknown) => caught,
      );
      expect(error).not.toBeNull();
      expect(isConnectionFailure(error)).toBe(true);
    } finally {
      await proxy.accept();
    }
    const siteId = await provisionNew();
    expect(await databaseExists(siteId)).toBe(true);
  });
});
