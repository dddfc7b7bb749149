/**
 * `npm start`: the whole platform on this machine, until Ctrl-C.
 *
 * 1. Postgres: the server at DATABASE_URL when it answers, else an embedded one.
 * 2. Kafka: KAFKA_BROKERS when it answers, else a local broker on 127.0.0.1:9092 (Maven
 *    Central jars, KRaft); then every topic of libs/contracts/src/topics.ts.
 * 3. Every service that has been built (apps/<app>/dist/main.js), as a child process.
 *
 * Contract with the services: each is started as `node dist/main.js` in its own directory
 * with KAFKA_BROKERS, DATABASE_URL, SITE_DATABASE_URL, STORAGE_ROOT, ADMIN_TOKEN and PORT
 * set; it runs its own migrations at boot, serves GET /health, and exits on SIGTERM.
 * A service that exits on its own (a crash, a boot that found no database) is started
 * again after a backoff (1 s, doubling up to 30 s; back to 1 s once it ran a minute), as
 * Kubernetes or compose's `restart:` would.
 * Ctrl-C or SIGTERM stops the services first, then Kafka and the embedded Postgres.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { ensureTopics, startKafka, type KafkaBroker } from './local/kafka-broker';
import { ensurePostgres, type PostgresServer } from './local/postgres-server';
import { serviceNodeFlags } from './local/node-flags';

const REPO_ROOT = path.resolve(__dirname, '..');

/** The five services and their default ports (SPEC.md, Configuration). */
const APPS = [
  { name: 'site-saga', port: 3000 },
  { name: 'sites', port: 3001 },
  { name: 'storage', port: 3002 },
  { name: 'databases', port: 3003 },
  { name: 'bootstrap', port: 3004 },
] as const;

const COLORS = [36, 35, 33, 32, 34];
const tty = process.stdout.isTTY === true;
const paint = (code: number, text: string) => (tty ? `\u001b[${code}m${text}\u001b[0m` : text);
const say = (line: string) => console.log(`${paint(1, '[start]')} ${line}`);

/** A supervised service: `child` and `exited` are the current process's (replaced at each restart). */
interface RunningApp {
  name: string;
  port: number;
  child: ChildProcess;
  exited: Promise<void>;
  restarts: number;
}

const RESTART_FIRST_MS = 1_000;
const RESTART_MAX_MS = 30_000;
/** A process that ran this long was healthy: its next crash restarts it after the first delay again. */
const RESTART_RESET_AFTER_MS = 60_000;

let postgres: PostgresServer | undefined;
let kafka: KafkaBroker | undefined;
const running: RunningApp[] = [];
let shuttingDown = false;
let shutdownRequestedAt = 0;
let infrastructureStarting: Promise<unknown> = Promise.resolve();

async function main(): Promise<void> {
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGHUP', () => void shutdown('SIGHUP')); // the terminal went away
  // Nothing else may hold the event loop (the broker is detached and unref'd): stay up until a signal.
  setInterval(() => undefined, 1 << 30);

  const starting = Promise.all([
    ensurePostgres(undefined, { log: (line) => say(`postgres: ${line}`) }).then((server) => (postgres = server)),
    startKafka({ port: Number(process.env.KAFKA_PORT ?? 9092), log: (line) => say(`kafka: ${line}`) }).then((started) => (kafka = started)),
  ]);
  infrastructureStarting = starting.catch(() => undefined);
  const [postgresServer, broker] = await starting;
  if (shuttingDown) return;
  await ensureTopics(broker.brokers);

  const databaseUrl = postgresServer.databaseUrl;
  const storageRoot = path.resolve(process.env.STORAGE_ROOT ?? path.join(REPO_ROOT, '.local', 'storage'));
  fs.mkdirSync(storageRoot, { recursive: true });
  const adminToken = process.env.ADMIN_TOKEN ?? persistentSecret('admin-token', () => randomBytes(24).toString('base64url'));
  // One client of the sites API for a local run (`local`), unless SITES_CLIENT_KEYS names them.
  const clientKey = process.env.SITES_CLIENT_KEYS ? null : persistentSecret('sites-client-key', () => randomBytes(24).toString('base64url'));
  const environment: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_BROKERS: broker.brokers,
    DATABASE_URL: databaseUrl,
    SITE_DATABASE_URL: process.env.SITE_DATABASE_URL ?? databaseUrl,
    STORAGE_ROOT: storageRoot,
    ADMIN_TOKEN: adminToken,
    ...(clientKey ? { SITES_CLIENT_KEYS: `local:${clientKey}` } : {}),
    // databases seals site credentials with it and bootstrap opens them: one key for both.
    SECRETS_KEY: process.env.SECRETS_KEY ?? persistentSecret('secrets-key', () => randomBytes(32).toString('base64')),
  };

  const built = APPS.filter((app) => fs.existsSync(path.join(REPO_ROOT, 'apps', app.name, 'dist', 'main.js')));
  const missing = APPS.filter((app) => !built.includes(app));
  say(`Kafka      ${broker.brokers}${broker.startedHere ? ` (local broker, log ${path.relative(REPO_ROOT, broker.logFile ?? '')})` : ''}`);
  say(`Postgres   ${redact(databaseUrl)}${postgresServer.embedded ? ' (embedded, log .local/postgres/postgres.log)' : ''}`);
  say(`Storage    ${storageRoot}`);
  if (missing.length > 0) say(`not built (no apps/<app>/dist/main.js): ${missing.map((app) => app.name).join(', ')}`);

  built.forEach((app, index) => {
    if (!shuttingDown) running.push(startApp(app.name, app.port, environment, COLORS[index % COLORS.length] ?? 37));
  });

  // Secrets are never printed (terminals are logged and shared): only where they are kept.
  const tokenAt = process.env.ADMIN_TOKEN ? 'ADMIN_TOKEN of this shell' : '.local/admin-token';
  if (built.some((app) => app.name === 'site-saga')) {
    say(`admin      http://localhost:3000/admin   (token: ${tokenAt})`);
    if (!process.env.ADMIN_TOKEN) say(`           curl -H "Authorization: Bearer $(cat .local/admin-token)" http://localhost:3000/admin/sagas`);
  } else {
    say(`admin      site-saga is not built yet; its page will be http://localhost:3000/admin (token: ${tokenAt})`);
  }
  if (built.some((app) => app.name === 'sites')) {
    say(`sites API  POST http://localhost:3001/sites   (client key: ${clientKey ? '.local/sites-client-key, client "local"' : 'SITES_CLIENT_KEYS of this shell'})`);
  }
  say(running.length > 0 ? 'Ctrl-C stops everything' : 'no service to run yet: Kafka and Postgres stay up until Ctrl-C');

  await Promise.all(running.map((app) => reportHealth(app)));
}

function startApp(name: string, port: number, environment: NodeJS.ProcessEnv, color: number): RunningApp {
  const app = { name, port, restarts: 0 } as RunningApp;
  const prefix = paint(color, `[${name}]`.padEnd(12));
  let failuresInARow = 0;
  const launch = () => {
    const startedAt = Date.now();
    const child = spawn(process.execPath, ['--enable-source-maps', ...serviceNodeFlags(environment), 'dist/main.js'], {
      cwd: path.join(REPO_ROOT, 'apps', name),
      env: { ...environment, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) readline.createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${prefix} ${line}\n`));
    }
    app.child = child;
    app.exited = new Promise<void>((resolve) => {
      let done = false;
      const ended = (how: string) => {
        if (done) return;
        done = true;
        resolve();
        if (shuttingDown) return;
        // A crash that nobody answers leaves the platform half up for good: start it
        // again, backing off while it keeps failing (a database still down, a bad config).
        failuresInARow = Date.now() - startedAt >= RESTART_RESET_AFTER_MS ? 1 : failuresInARow + 1;
        const wait = Math.min(RESTART_MAX_MS, RESTART_FIRST_MS * 2 ** (failuresInARow - 1));
        say(`${name} exited (${how}); restarting it in ${(wait / 1000).toFixed(0)} s`);
        setTimeout(() => {
          if (shuttingDown) return;
          app.restarts += 1;
          launch();
          void reportHealth(app);
        }, wait).unref();
      };
      child.once('exit', (code, signal) => ended(signal ?? `code ${code}`));
      child.once('error', (error) => ended(`could not start: ${error.message}`));
    });
  };
  launch();
  return app;
}

/** Tells when each service's GET /health first answers 200; never fails the run. */
async function reportHealth(app: RunningApp): Promise<void> {
  const deadline = Date.now() + 120_000;
  let exited = false;
  void app.exited.then(() => (exited = true));
  while (!shuttingDown && !exited && Date.now() < deadline) {
    try {
      const response = await fetch(`http://127.0.0.1:${app.port}/health`, { signal: AbortSignal.timeout(2000) });
      if (response.ok) {
        say(`${app.name} is ready on http://localhost:${app.port}`);
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  if (!shuttingDown && !exited) say(`${app.name}: GET /health on port ${app.port} still does not answer 200 after 2 minutes`);
}

async function shutdown(signal: string): Promise<void> {
  if (shuttingDown) {
    // The same Ctrl-C often arrives twice (from the terminal, and relayed by pnpm and tsx):
    // only a second one a moment later means "no more patience".
    if (Date.now() - shutdownRequestedAt < 2000) return;
    for (const app of running) app.child.kill('SIGKILL');
    process.exit(130);
  }
  shuttingDown = true;
  shutdownRequestedAt = Date.now();
  say(`${signal}: stopping ${running.length > 0 ? 'the services, then ' : ''}Kafka and Postgres (Ctrl-C again to force)`);
  await Promise.all(
    running.map(async (app) => {
      if (app.child.exitCode !== null || app.child.signalCode !== null) return;
      app.child.kill('SIGTERM');
      const stopped = await Promise.race([app.exited.then(() => true), delay(15_000).then(() => false)]);
      if (!stopped) {
        say(`${app.name} ignored SIGTERM for 15 s: killing it`);
        app.child.kill('SIGKILL');
        await app.exited;
      }
    }),
  );
  // A Ctrl-C while Kafka or Postgres is still starting: let them finish, then stop them.
  await infrastructureStarting;
  const results = await Promise.allSettled([kafka?.stop(), postgres?.stop()]);
  for (const result of results) if (result.status === 'rejected') say(`while stopping: ${String(result.reason)}`);
  say('stopped');
  process.exit(0);
}

/** A generated value kept in .local/<name> so it stays the same from one start to the next. */
function persistentSecret(name: string, generate: () => string): string {
  const file = path.join(REPO_ROOT, '.local', name);
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const value = generate();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return value;
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

main().catch(async (error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  if (!shuttingDown) {
    shuttingDown = true;
    for (const app of running) app.child.kill('SIGTERM');
    await infrastructureStarting;
    await Promise.allSettled([kafka?.stop(), postgres?.stop()]);
  }
  process.exit(1);
});
