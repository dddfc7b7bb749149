/**
 * Runs one service as a child process, the way an operator does: `node apps/<app>/dist/main.js`
 * with its environment, ready when `GET /health` answers 200. Its stdout and stderr go to
 * `.local/test-logs/<app>-<port>-<time>.log` (for debugging) and stay readable through
 * `output()` (for tests that assert on what a service logged).
 *
 * Build first: `pnpm --filter @sitesaga/<app>... build` (the app and the libs it uses).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { serviceNodeFlags } from '../../scripts/local/node-flags';
import { type Duration, toMs } from './wait-for';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const LOG_DIR = path.join(REPO_ROOT, '.local', 'test-logs');

export interface ServiceProcess {
  readonly app: string;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves when the process has exited, with its exit code or signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Sends `signal` (SIGTERM: graceful shutdown) and waits for the exit; SIGKILL after `within`. */
  stop(signal?: NodeJS.Signals, within?: Duration): Promise<void>;
  /** kill -9, and wait for the exit. */
  kill(): Promise<void>;
}

/**
 * Credentials every service started here gets unless the test gives its own: the operator
 * token (ADMIN_TOKEN: the admin endpoint, every site on the sites API, /faults) and one
 * client of the sites API. Fault injection is switched on (FAULTS_ENABLED=1), as tests
 * use it; a test of the defaults passes FAULTS_ENABLED: ''.
 */
export const TEST_ADMIN_TOKEN = 'e2e-operator-token-0123456789abcdef';
export const TEST_CLIENT = { id: 'e2e-client', key: 'e2e-client-key-0123456789abcdef' } as const;
/** `Authorization` of an operator, for the sites API and /faults of services started with the defaults. */
export const operatorHeaders = (token: string = TEST_ADMIN_TOKEN): Record<string, string> => ({ authorization: `Bearer ${token}` });

const TEST_DEFAULTS: Record<string, string> = {
  ADMIN_TOKEN: TEST_ADMIN_TOKEN,
  SITES_CLIENT_KEYS: `${TEST_CLIENT.id}:${TEST_CLIENT.key}`,
  FAULTS_ENABLED: '1',
};

export interface StartServiceOptions {
  /** How long to wait for /health to answer 200. Default 60 s (a cold Nest boot on 2 cores, migrations included). */
  readyWithin?: Duration;
  /** A fixed port (a restart on the same port); a free one by default. */
  port?: number;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startService(app: string, env: Record<string, string | undefined> = {}, options: StartServiceOptions = {}): Promise<ServiceProcess> {
  const entry = path.join(REPO_ROOT, 'apps', app, 'dist', 'main.js');
  if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: build it first (pnpm --filter @sitesaga/${app}... build)`);
  const fixed = options.port ?? (env.PORT ? Number(env.PORT) : undefined);
  const port = fixed ?? (await freePort());
  fs.mkdirSync(LOG_DIR, { recursive: true });
  const logFile = path.join(LOG_DIR, `${app}-${port}-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
  const log = fs.createWriteStream(logFile, { flags: 'a' });
  const chunks: Buffer[] = [];

  // SERVICE_NODE_ARGS: extra node flags for every service, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` for a profile
  // (after the launch flags every service gets, so that it wins over them).
  const childEnv = { ...process.env, ...TEST_DEFAULTS, ...env, PORT: String(port) };
  const nodeArgs = [...serviceNodeFlags(childEnv), ...(process.env.SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, entry], {
    cwd: REPO_ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const record = (chunk: Buffer) => {
    chunks.push(chunk);
    log.write(chunk);
  };
  child.stdout?.on('data', record);
  child.stderr?.on('data', record);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      // Let the pipes drain into the log before anyone reads it.
      setImmediate(() => {
        log.end();
        resolve({ code, signal });
      });
    });
  });
  const output = () => Buffer.concat(chunks).toString('utf8');
  const url = `http://127.0.0.1:${port}`;

  const waitForExit = async (within: Duration): Promise<boolean> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), toMs(within))));
    const result = await Promise.race([exited.then(() => true), timeout]);
    clearTimeout(timer);
    return result;
  };
  const alive = () => child.exitCode === null && child.signalCode === null;

  const service: ServiceProcess = {
    app,
    port,
    url,
    pid: child.pid!,
    logFile,
    exited,
    output,
    async stop(signal = 'SIGTERM', within = '20s') {
      if (!alive()) return;
      child.kill(signal);
      if (!(await waitForExit(within))) {
        child.kill('SIGKILL');
        await exited;
      }
    },
    async kill() {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
  };

  const deadline = Date.now() + toMs(options.readyWithin ?? '60s');
  for (;;) {
    if (!alive()) {
      const { code, signal } = await exited;
      throw new Error(`${app} exited during start (${code ?? signal}); see ${logFile}:\n${output().split('\n').slice(-30).join('\n')}`);
    }
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
      if (response.status === 200) return service;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await service.kill();
      throw new Error(`${app} did not become healthy within ${options.readyWithin ?? '60s'}; see ${logFile}:\n${output().split('\n').slice(-30).join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}
