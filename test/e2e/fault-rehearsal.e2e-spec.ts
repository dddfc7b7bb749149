import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  type CaseResult,
  type FaultControl,
  type FaultRuleSpec,
  rehearsalPlan,
  rehearsalReport,
  runRehearsal,
  SiteEffectProbe,
  type SiteResourceReader,
  siteSubjects,
} from '@sitesaga/cli/testing';
import { sagaDefinitions, type SagaDetail } from '@sitesaga/http-contracts';
import { RestartingSupervisor } from '../support/restarting-supervisor';
import { type App, APPS, RunningSystem } from '../support/system';

/**
 * The fault rehearsal of `saga rehearse`, on real services, Kafka and Postgres: every case
 * the CreateSite and DeleteSite definitions imply (each step and each compensation ×
 * business failure, transient then success, stall past its deadline, crash of its
 * service), each on a site of its own, run together, must end as the engine promises and
 * leave behind exactly the effects it should — the directory, the database and its role
 * read here from the disk and the server themselves, the record from the sites API.
 */
jest.setTimeout(900_000);

const PARTICIPANTS: App[] = ['sites', 'storage', 'databases', 'bootstrap'];
// Deadlines and backoffs ×0.3 (a 30 s reply deadline is 9 s): a stall costs seconds, not a minute,
// and a step's five attempts (about 50 s) still outlast a crashed participant's restart.
// A crashed participant rejoins its consumer group sooner with the broker's shortest session.
const participantEnv = { KAFKA_SESSION_TIMEOUT_MS: '6000', KAFKA_HEARTBEAT_INTERVAL_MS: '1000' };
const system = new RunningSystem({
  label: 'rehearsal',
  env: { 'site-saga': { SAGA_TIME_SCALE: '0.3' }, ...Object.fromEntries(PARTICIPANTS.map((app) => [app, participantEnv])) },
});
const supervisor = new RestartingSupervisor(system, PARTICIPANTS);

beforeAll(async () => {
  await system.start();
  supervisor.start();
}, 180_000);
afterAll(async () => {
  supervisor.stop();
  await system.stop();
}, 90_000);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `/faults` of this system's participants, as the CLI's HttpFaultControl does it against `npm start`. */
const faults: FaultControl = {
  async put(service, rules) {
    const response = await fetch(`${system.service(service as App).url}/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...system.operatorHeaders },
      body: JSON.stringify({ rules }),
    });
    if (!response.ok) throw new Error(`PUT /faults on ${service}: ${response.status}`);
  },
  async get(service) {
    const response = await fetch(`${system.service(service as App).url}/faults`, { headers: system.operatorHeaders, signal: AbortSignal.timeout(5_000) }).catch(() => null);
    if (!response?.ok) return null;
    return ((await response.json()) as { rules: (FaultRuleSpec & { fired: number })[] }).rules;
  },
};

/** The site as it is: its directory on disk, its database and role on the server, its record. */
const reader: SiteResourceReader = {
  async read(siteId) {
    const name = `site_${siteId.replace(/-/g, '')}`;
    const [databases, roles] = await Promise.all([
      system.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name]),
      system.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [name]),
    ]);
    // The sites service may be restarting after a crash case: asked again for up to 30 s.
    let record: string | null = null;
    for (let tries = 0; tries < 60 && record === null; tries += 1) {
      const response = await fetch(`${system.service('sites').url}/sites/${siteId}`, { headers: system.operatorHeaders }).catch(() => null);
      if (response?.status === 404) record = 'absent';
      else if (response?.ok) record = ((await response.json()) as { status: string }).status;
      else await sleep(500);
    }
    return {
      record,
      directory: fs.existsSync(path.join(system.storageRoot, siteId)) ? 'present' : 'absent',
      database: databases.length > 0 ? 'present' : 'absent',
      role: roles.length > 0 ? 'present' : 'absent',
    };
  },
};

const detail = async (sagaId: string): Promise<SagaDetail | null> => {
  const response = await system.admin<SagaDetail>(`/admin/sagas/${sagaId}`);
  return response.status === 200 ? response.body : null;
};

describe('fault rehearsal generated from the saga definitions', () => {
  let results: CaseResult[] = [];

  it('derives its cases from GET /admin/definitions and runs every one of CreateSite and DeleteSite', async () => {
    const answer = await system.admin('/admin/definitions');
    expect(answer.status).toBe(200);
    const { items } = sagaDefinitions.parse(answer.body);
    const definitions = ['CreateSite', 'DeleteSite'].map((type) => items.find((item) => item.type === type)!);
    const plans = definitions.map((definition) => rehearsalPlan(definition));
    // Every step and every compensation × 4: CreateSite 5 steps + 3 undos, DeleteSite 4 steps and no undo.
    expect(plans.map((plan) => plan.cases.length)).toEqual([32, 16]);
    expect(plans.flatMap((plan) => plan.skipped)).toEqual([]);

    const began = Date.now();
    results = await runRehearsal(
      definitions,
      plans.flatMap((plan) => plan.cases),
      {
        ...siteSubjects({ send: (envelope) => system.send(envelope), detail }, { setupTimeoutMs: 90_000, sleep, now: Date.now }),
        detail,
        faults,
        effects: new SiteEffectProbe(reader),
        now: Date.now,
        sleep,
      },
      {
        concurrency: 8,
        caseTimeoutMs: 120_000,
        pollMs: 250,
        // Progress as it happens (jest prints console output only at the end).
        onProgress: (line) => process.stdout.write(`[rehearsal +${Math.round((Date.now() - began) / 1000)}s] ${line}\n`),
      },
    );
    const report = plans.flatMap((plan) => rehearsalReport(plan, results.filter((result) => result.rehearsal.sagaType === plan.sagaType)));
    // The table, as `saga rehearse` prints it: in the test output when anything diverged.
    const diverged = results.filter((result) => result.divergences.length > 0);
    const restarts = supervisor.restarts.map((restart) => `${restart.app} ${(restart.tookMs / 1000).toFixed(1)} s`).join(', ');
    console.log(`${report.join('\n')}\n\n${results.length} cases in ${Math.round((Date.now() - began) / 1000)} s; restarts: ${restarts}`);
    expect(diverged.map((result) => [result.rehearsal.id, result.divergences])).toEqual([]);
    expect(supervisor.failures).toEqual([]);
  });

  it('crashed each participant that a crash case names, and it came back', () => {
    // CreateSite: sites ×3 (ReserveSite, ActivateSite, ReleaseSite), storage ×2, databases ×2, bootstrap ×1; DeleteSite: sites ×2, storage, databases.
    const crashes = results.filter((result) => result.rehearsal.crashes !== null).map((result) => result.rehearsal.crashes);
    expect(crashes).toHaveLength(12);
    const restarted = new Map<string, number>();
    for (const restart of supervisor.restarts) restarted.set(restart.app, (restarted.get(restart.app) ?? 0) + 1);
    for (const app of PARTICIPANTS) expect([app, restarted.get(app) ?? 0]).toEqual([app, crashes.filter((crashed) => crashed === app).length]);
    expect(APPS.filter((app) => !PARTICIPANTS.includes(app))).toEqual(['site-saga']);
  });

  it('leaves effects exactly where the engine says: a refused undo keeps its site directory, a clean compensation leaves nothing', () => {
    const byId = (id: string) => results.find((result) => result.rehearsal.id === id)!;
    expect(byId('CreateSite: undo DeprovisionStorage (ProvisionStorage) × business').effects?.seen).toMatchObject({ directory: 'present', database: 'absent' });
    expect(byId('CreateSite: ProvisionDatabase × business').effects?.seen).toEqual({ record: 'FAILED', directory: 'absent', database: 'absent', role: 'absent' });
    expect(byId('DeleteSite: MarkSiteDeleting × business').effects?.seen).toEqual({ record: 'ACTIVE', directory: 'present', database: 'present', role: 'present' });
    expect(byId('CreateSite: BootstrapSite × stall').actual).toMatchObject({ status: 'COMPLETED' });
  });

  it('is one command: `saga rehearse` against the running system prints the table and exits 0 when every case went as expected', async () => {
    const cli = path.resolve(__dirname, '..', '..', 'apps', 'cli', 'dist', 'main.js');
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'saga-rehearse-'));
    const settings = system.envOf('site-saga');
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [cli, ...args], {
          cwd,
          env: {
            PATH: process.env.PATH ?? '',
            KAFKA_BROKERS: settings.KAFKA_BROKERS!,
            KAFKA_TOPIC_PREFIX: settings.KAFKA_TOPIC_PREFIX!,
            ADMIN_URL: system.service('site-saga').url,
            ADMIN_TOKEN: system.adminToken,
            ...Object.fromEntries(PARTICIPANTS.map((app) => [`${app.toUpperCase()}_URL`, system.service(app).url])),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
        child.once('error', reject);
        child.once('close', (code) => resolve({ code, stdout, stderr }));
      });
    try {
      const listed = await run(['rehearse', 'CreateSite', '--list']);
      expect([listed.code, listed.stderr]).toEqual([0, '']);
      expect(listed.stdout).toContain('CreateSite: undo ReleaseSite (ReserveSite) × stall\n    faults: storage ProvisionStorage=fail, sites ReleaseSite=stall*1');
      expect(listed.stdout).toContain('32 cases');

      const ran = await run(['rehearse', 'DeleteSite', '--only', 'MarkSiteDeleted × transient', '--storage-root', system.storageRoot, '--case-timeout', '120']);
      expect([ran.code, ran.stderr]).toEqual([0, '']);
      expect(ran.stdout).toMatch(/DeleteSite: MarkSiteDeleted × transient +COMPLETED +COMPLETED +record DELETED, directory absent, database \?, role \? +[0-9.]+ s +ok/);
      expect(ran.stdout).toContain('DeleteSite: 1 of 1 cases as expected');

      const unknown = await run(['rehearse', 'RenameSite']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('no saga type "RenameSite"');
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });
});
