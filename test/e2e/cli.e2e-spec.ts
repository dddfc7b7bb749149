import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunningSystem } from '../support/system';

/**
 * The operators' CLI (apps/cli) as a child process, the way an operator runs it, against
 * all five services over a real broker and Postgres. Build first:
 * pnpm --filter @sitesaga/cli build (the test command builds every package).
 */
jest.setTimeout(180_000);

const CLI = path.resolve(__dirname, '..', '..', 'apps', 'cli', 'dist', 'main.js');
const system = new RunningSystem({ label: 'cli', env: { 'site-saga': { SAGA_TIME_SCALE: '0.1' } } });
/** Sites this file created: their databases and roles are dropped at the end. */
const created = new Set<string>();
/** No `.local/admin-token` here: only the token the test gives is used. */
const workingDirectory = fs.mkdtempSync(path.join(os.tmpdir(), 'saga-cli-e2e-'));

beforeAll(async () => {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: build it first (pnpm --filter @sitesaga/cli build)`);
  await system.start();
}, 180_000);

afterAll(async () => {
  for (const siteId of created) {
    const name = `site_${siteId.replace(/-/g, '')}`;
    await system.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
    await system.query(`DROP ROLE IF EXISTS "${name}"`).catch(() => undefined);
  }
  await system.stop();
  fs.rmSync(workingDirectory, { recursive: true, force: true });
}, 60_000);

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `saga <args>` with the system's settings (as an operator's shell would have them) and collects its output. */
function saga(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const settings = system.envOf('site-saga');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: workingDirectory,
      env: {
        PATH: process.env.PATH ?? '',
        KAFKA_BROKERS: settings.KAFKA_BROKERS!,
        KAFKA_TOPIC_PREFIX: settings.KAFKA_TOPIC_PREFIX!,
        ADMIN_URL: system.service('site-saga').url,
        ADMIN_TOKEN: system.adminToken,
        SITES_URL: system.service('sites').url,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const sagaIdIn = (output: string): string => {
  const match = /saga id\s+([0-9a-f-]{36})/.exec(output);
  if (!match?.[1]) throw new Error(`no saga id in:\n${output}`);
  return match[1];
};

const CREATE_STEPS = ['ReserveSite', 'ProvisionStorage', 'ProvisionDatabase', 'BootstrapSite', 'ActivateSite'];
const stepLine = (output: string, step: string): string | undefined => output.split('\n').find((line) => new RegExp(`^[ ┌├└]\\s${step}\\s`).test(line));

describe('saga CLI', () => {
  let sagaId: string;
  const name = `cli-${randomUUID().slice(0, 8)}`;

  it('creates a site through Kafka and follows it live until COMPLETED: every step SUCCEEDED, exit 0', async () => {
    const run = await saga(['create-site', '--name', name, '--domain', `${name}.example.com`, '--admin-email', `owner@${name}.example.com`, '--follow']);
    sagaId = sagaIdIn(run.stdout);
    created.add(sagaId);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toContain(`CreateSite sent to ${system.prefix}site-saga.commands`);
    expect(run.stdout).toMatch(/^\+\S+\s+saga COMPLETED$/m); // the appended progress lines (stdout is a pipe)
    for (const step of CREATE_STEPS) expect(stepLine(run.stdout, step)).toMatch(/\sSUCCEEDED\s+1\s/);
    expect(run.stdout).toContain('completed: every step succeeded');
    expect(run.stdout).not.toContain('\u001b['); // no colours or cursor moves into a pipe
  });

  it('lists the saga as JSON', async () => {
    const run = await saga(['list', '--json', '--site-name', name]);
    expect(run.code).toBe(0);
    const page = JSON.parse(run.stdout) as { items: { id: string; status: string; siteName: string }[] };
    expect(page.items).toEqual([expect.objectContaining({ id: sagaId, status: 'COMPLETED', siteName: name })]);
    const all = JSON.parse((await saga(['list', '--json'])).stdout) as { items: { id: string }[] };
    expect(all.items.map((item) => item.id)).toContain(sagaId);
  });

  it('shows the saga COMPLETED with its steps and message history', async () => {
    const run = await saga(['show', sagaId]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^status\s+COMPLETED/m);
    for (const step of CREATE_STEPS) expect(stepLine(run.stdout, step)).toMatch(/\sSUCCEEDED\s/);
    expect(run.stdout).toMatch(/→ in\s+CreateSite/);
    expect(run.stdout).toMatch(/← out\s+SiteCreated/);
    expect(run.stdout).toContain('"credentials":"[redacted]"');
  });

  it('refuses a wrong token with exit 3 and a clear message, never printing the token', async () => {
    const wrong = `wrong-${randomUUID()}`;
    const run = await saga(['list'], { ADMIN_TOKEN: wrong });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('ADMIN_TOKEN rejected');
    expect(run.stdout + run.stderr).not.toContain(wrong);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const none = await saga(['show', sagaId], { ADMIN_TOKEN: '' });
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('ADMIN_TOKEN rejected');
  });

  it('ends with exit 1 and the reason when the name is taken (the saga is compensated)', async () => {
    const run = await saga(['create-site', '--name', name, '--domain', `other-${name}.example.com`, '--admin-email', 'a@example.com', '--follow']);
    created.add(sagaIdIn(run.stdout));
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/COMPENSATED/);
    expect(run.stdout).toMatch(/ReserveSite failed \(.*name taken/);
  });

  it('deletes the site through the sites API and follows the delete saga to COMPLETED', async () => {
    const run = await saga(['delete-site', sagaId, '--via', 'http', '--follow']);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    for (const step of ['MarkSiteDeleting', 'DeprovisionStorage', 'DropDatabase', 'MarkSiteDeleted']) expect(stepLine(run.stdout, step)).toMatch(/\sSUCCEEDED\s/);
    const site = (await fetch(`${system.service('sites').url}/sites/${sagaId}`, { headers: system.operatorHeaders }).then((response) => response.json())) as { status: string };
    expect(site.status).toBe('DELETED');
  });

  it('answers a usage error with exit 2 before touching anything', async () => {
    const run = await saga(['create-site', '--name', 'Not A Label', '--domain', 'example.com', '--admin-email', 'a@example.com']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--name: ');
    expect((await saga(['show', 'not-a-uuid'])).code).toBe(2);
  });
});
