/**
 * Each service checks its whole environment against its zod schema before it connects to
 * anything: with bad values it exits non-zero and names every bad variable in one go (and
 * never echoes a value). Runs the built services (`node apps/<app>/dist/main.js`); needs
 * neither Kafka nor Postgres, which a service with a bad environment never reaches.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';

jest.setTimeout(60_000);
const ROOT = path.join(__dirname, '..', '..');

/** Starts a built service and waits for it to exit (60 s at most); its output and exit code. */
function runToExit(app: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'apps', app, 'dist', 'main.js')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${app} did not exit within 60 s with a bad environment; its output:\n${output}`));
    }, 60_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** A working environment but for the variables a test spoils. */
const baseEnv = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  KAFKA_BROKERS: '127.0.0.1:1',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:1/postgres',
  ADMIN_TOKEN: 'a-token-of-at-least-16-characters',
  STORAGE_ROOT: path.join(ROOT, '.local', 'env-test-storage'),
  LOG_LEVEL: 'info',
});

const SPOILED = { HANDLER_ATTEMPTS: 'many', KAFKA_TOPIC_PREFIX: 'no/slashes-secret-value' };

describe.each(['site-saga', 'sites', 'storage', 'databases', 'bootstrap'])('%s with two bad variables', (app) => {
  it('exits at once, naming both, and never their values', async () => {
    const { code, output } = await runToExit(app, { ...baseEnv(), ...SPOILED });
    expect(code).not.toBe(0);
    expect(output).toContain('invalid environment (2 errors)');
    expect(output).toMatch(/HANDLER_ATTEMPTS: must be a whole number/);
    expect(output).toMatch(/KAFKA_TOPIC_PREFIX: may hold only letters/);
    expect(output).not.toContain('no/slashes-secret-value');
  });
});

describe('a service-specific variable', () => {
  it('is checked with the chassis ones: site-saga names a short ADMIN_TOKEN and a bad PORT together', async () => {
    const { code, output } = await runToExit('site-saga', { ...baseEnv(), ADMIN_TOKEN: 'short', PORT: '70000' });
    expect(code).not.toBe(0);
    expect(output).toContain('invalid environment (2 errors)');
    expect(output).toMatch(/ADMIN_TOKEN: must be a secret of at least 16 characters/);
    expect(output).toMatch(/PORT: must be a whole number from 0 to 65535/);
  });

  it('storage names a missing STORAGE_ROOT', async () => {
    const { STORAGE_ROOT: _unset, ...env } = baseEnv();
    const { code, output } = await runToExit('storage', { ...env, HANDLER_ATTEMPTS: '0' });
    expect(code).not.toBe(0);
    expect(output).toMatch(/STORAGE_ROOT: is required/);
    expect(output).toMatch(/HANDLER_ATTEMPTS: must be a whole number of at least 1/);
  });
});
