import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateSite, DeleteSite, ProvisionDatabase, ProvisionStorage, siteDatabaseNames, Topics } from '@sitesaga/contracts';
import type { OrphanReport, RepairResult, SiteLookup } from '@sitesaga/http-contracts';
import { type BrowserContext, chromium } from 'playwright-core';
import { type DedicatedPostgres, startDedicatedPostgres } from '../support/dedicated-postgres';
import { RunningSystem } from '../support/system';
import { waitFor } from '../support/wait-for';

/**
 * The orphan audit, its repair and the site view (issue #13), against the five services as
 * processes, on a Postgres server of this test's own (the shared one holds other runs' site
 * databases, which this deployment's audit would rightly call orphans).
 *
 * Orphans are made the ways they happen: a participant command whose saga is gone (sent
 * straight to the participant: a directory with its record, a database with its role and
 * record), a directory nobody recorded, and a site whose create saga was aborted while a
 * stall fault held its bootstrap and then its DropDatabase compensation, so that the saga
 * ended FAILED with the site PENDING and its database left behind.
 */
jest.setTimeout(300_000);

const CLI = path.resolve(__dirname, '..', '..', 'apps', 'cli', 'dist', 'main.js');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ALICE = `alice-${randomBytes(16).toString('hex')}`;
const run = randomBytes(2).toString('hex');

let postgres: DedicatedPostgres;
let system: RunningSystem;
let browser: BrowserContext | undefined;
let profile: string | undefined;
const workingDirectory = fs.mkdtempSync(path.join(os.tmpdir(), 'saga-inventory-e2e-'));

beforeAll(async () => {
  postgres = await startDedicatedPostgres('inventory');
  const faults = { FAULTS_ENABLED: '1' };
  system = new RunningSystem({
    label: 'inventory',
    serverUrl: postgres.url,
    env: {
      'site-saga': { SAGA_TIME_SCALE: '0.1', ADMIN_TOKENS: `alice:${ALICE}`, ORPHAN_AUDIT_INTERVAL_MS: '1000', ORPHAN_AUDIT_PAGE_SIZE: '2' },
      databases: { ...faults, SITE_DATABASE_POOL_SIZE: '1' },
      bootstrap: faults,
    },
  });
  // Two cores shared by many runs: a cold Nest boot may take longer than the default minute.
  await system.start({ readyWithin: '150s' });
}, 400_000);

afterAll(async () => {
  await browser?.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
  await system?.stop().catch(() => undefined);
  await postgres?.destroy();
  fs.rmSync(workingDirectory, { recursive: true, force: true });
}, 120_000);

const causation = (sagaId: string) => ({ sagaId, correlationId: sagaId, causationId: null });

async function createSite(name: string, siteId = randomUUID()): Promise<string> {
  await system.send(CreateSite.create({ name, domain: `${name}.example.com`, adminEmail: 'owner@example.com' }, causation(siteId)));
  return siteId;
}

async function audit(): Promise<OrphanReport> {
  const { status, body } = await system.admin<OrphanReport>('/admin/orphans');
  if (status !== 200) throw new Error(`GET /admin/orphans: ${status} ${JSON.stringify(body)}`);
  return body;
}

/** The orphans as `kind name saga` lines, sorted: what a person would compare. */
const orphanLines = (report: OrphanReport): string[] => report.orphans.map((orphan) => `${orphan.kind} ${orphan.name} ${orphan.sagaId ?? '-'}`).sort();

const dirExists = (name: string): boolean => fs.existsSync(path.join(system.storageRoot, name));
const databaseExists = async (name: string): Promise<boolean> => (await system.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name])).length === 1;
const roleExists = async (name: string): Promise<boolean> => (await system.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [name])).length === 1;

function saga(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const settings = system.envOf('site-saga');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: workingDirectory,
      env: { PATH: process.env.PATH ?? '', KAFKA_BROKERS: settings.KAFKA_BROKERS!, ADMIN_URL: system.service('site-saga').url, ADMIN_TOKEN: system.adminToken },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface Manufactured {
  readonly healthy: { readonly id: string; readonly name: string };
  readonly strayDirectory: string;
  readonly storage: { readonly siteId: string; readonly sagaId: string };
  readonly database: { readonly siteId: string; readonly sagaId: string; readonly name: string };
  readonly aborted: { readonly siteId: string; readonly name: string; readonly database: string };
}
let made: Manufactured;

it('lists exactly the orphans and incomplete sites that were made, each with the saga that made it, and counts them on /metrics', async () => {
  // Two healthy sites, and one whose saga a stall holds at BootstrapSite.
  const healthyName = `inv-ok-${run}`;
  const abortedName = `inv-stuck-${run}`;
  const abortedId = randomUUID();
  await system.setFaults('bootstrap', [{ command: 'BootstrapSite', mode: 'stall', match: abortedId }]);
  await system.setFaults('databases', [{ command: 'DropDatabase', mode: 'stall', match: abortedId }]);
  const healthyId = await createSite(healthyName);
  const otherId = await createSite(`inv-ok2-${run}`);
  await createSite(abortedName, abortedId);
  await expect(system.waitForOutcomeEvent(healthyId, 90_000)).resolves.toBe('SiteCreated');
  await expect(system.waitForOutcomeEvent(otherId, 90_000)).resolves.toBe('SiteCreated');

  // Aborted mid-way: its compensations run, but DropDatabase stalls until it runs out of attempts.
  const waitsOnBootstrap = async () =>
    (await system.admin<{ steps?: { name: string; state: string }[] }>(`/admin/sagas/${abortedId}`)).body?.steps?.some(
      (step) => step.name === 'BootstrapSite' && step.state === 'RUNNING',
    );
  await waitFor(waitsOnBootstrap, { within: '60s', what: 'the stalled saga waiting on BootstrapSite' });
  const abort = await system.admin(`/admin/sagas/${abortedId}/abort`, { method: 'POST', body: JSON.stringify({ reason: 'inventory test' }) });
  expect([202, 409]).toContain(abort.status); // 409: its own deadlines beat the abort to it; the outcome is the same
  await waitFor(async () => (await system.admin<{ status: string }>(`/admin/sagas/${abortedId}`)).body.status === 'FAILED', {
    within: '120s',
    what: 'the aborted saga FAILED on its stalled DropDatabase',
  });
  await system.setFaults('databases', []);
  await system.setFaults('bootstrap', []);

  // A participant's work whose saga is gone: sent straight to storage and to databases.
  const storage = { siteId: randomUUID(), sagaId: randomUUID() };
  const database = { siteId: randomUUID(), sagaId: randomUUID() };
  await system.sendRaw(Topics.storageCommands, JSON.stringify(ProvisionStorage.create({ siteId: storage.siteId }, causation(storage.sagaId))), storage.sagaId);
  await system.sendRaw(
    Topics.databasesCommands,
    JSON.stringify(ProvisionDatabase.create({ siteId: database.siteId }, causation(database.sagaId))),
    database.sagaId,
  );
  await waitFor(() => system.events(Topics.storageEvents, { type: 'StorageProvisioned', sagaId: storage.sagaId })[0], {
    within: '30s',
    what: 'the stray StorageProvisioned',
  });
  await waitFor(() => system.events(Topics.databasesEvents, { type: 'DatabaseProvisioned', sagaId: database.sagaId })[0], {
    within: '30s',
    what: 'the stray DatabaseProvisioned',
  });
  // And a directory nobody recorded.
  const strayDirectory = randomUUID();
  fs.mkdirSync(path.join(system.storageRoot, strayDirectory));

  const databaseName = siteDatabaseNames(database.siteId).databaseName;
  const abortedDatabase = siteDatabaseNames(abortedId).databaseName;
  made = {
    healthy: { id: healthyId, name: healthyName },
    strayDirectory,
    storage,
    database: { ...database, name: databaseName },
    aborted: { siteId: abortedId, name: abortedName, database: abortedDatabase },
  };

  const report = await audit();
  expect(orphanLines(report)).toEqual(
    [
      `directory ${strayDirectory} -`,
      `directory ${storage.siteId} ${storage.sagaId}`,
      `storage-record ${storage.siteId} ${storage.sagaId}`,
      `database ${databaseName} ${database.sagaId}`,
      `role ${databaseName} ${database.sagaId}`,
      `database-record ${database.siteId} ${database.sagaId}`,
    ].sort(),
  );
  for (const orphan of report.orphans) expect(orphan.site).toBeNull(); // no site record has their ids
  expect(report.orphans.find((orphan) => orphan.kind === 'database')?.repair).toEqual([{ command: 'DropDatabase', siteId: database.siteId }]);
  // The aborted site: PENDING, its create saga FAILED, its database and role still there.
  expect(report.incomplete).toHaveLength(1);
  const stuck = report.incomplete[0]!;
  expect(stuck).toMatchObject({
    siteId: abortedId,
    site: { name: abortedName, status: 'PENDING' },
    saga: { id: abortedId, type: 'CreateSite', status: 'FAILED' },
  });
  expect(stuck.problems).toEqual(expect.arrayContaining(['its database exists', 'its role exists']));
  expect(stuck.repair.map((command) => command.command).sort()).toEqual(['DeprovisionStorage', 'DropDatabase', 'ReleaseSite']);
  expect(report.counts).toMatchObject({
    directory: 2,
    database: 1,
    role: 1,
    'storage-record': 1,
    'database-record': 1,
    'bootstrap-record': 0,
    'incomplete-site': 1,
  });
  expect(report.liveSites).toBe(3);
  expect(report.truncated).toEqual([]); // ORPHAN_AUDIT_PAGE_SIZE=2: every source took several pages

  // The metric, refreshed every second here.
  await waitFor(
    async () => {
      const metrics = await (await fetch(`${system.service('site-saga').url}/metrics`)).text();
      return /^sitesaga_orphans\{[^}]*kind="directory"[^}]*\} 2$/m.test(metrics) && /^sitesaga_orphans\{[^}]*kind="incomplete-site"[^}]*\} 1$/m.test(metrics);
    },
    { within: '20s', what: 'sitesaga_orphans{kind="directory"} 2 on /metrics' },
  );

  // The CLI says the same.
  const cli = await saga(['orphans', '--json']);
  expect(cli.code).toBe(1); // something was found
  expect(orphanLines(JSON.parse(cli.stdout) as OrphanReport)).toEqual(orphanLines(report));
  const text = await saga(['orphans']);
  expect(text.stdout).toContain('6 orphans, 1 incomplete sites');
  expect(text.stdout).toContain(strayDirectory);
});

it('a dry run sends nothing and says what it would send; the repair removes every orphan and a second audit is clean', async () => {
  const dry = await system.admin<RepairResult>('/admin/orphans/repair', { method: 'POST', body: JSON.stringify({}) });
  expect(dry.status).toBe(200);
  expect(dry.body.dryRun).toBe(true);
  const commands = (result: RepairResult) => result.commands.map((command) => `${command.command} ${command.siteId} ${command.topic}`).sort();
  expect(commands(dry.body)).toEqual(
    [
      `DeprovisionStorage ${made.strayDirectory} storage.commands`,
      `DeprovisionStorage ${made.storage.siteId} storage.commands`,
      `DropDatabase ${made.database.siteId} databases.commands`,
      `DeprovisionStorage ${made.aborted.siteId} storage.commands`,
      `DropDatabase ${made.aborted.siteId} databases.commands`,
      `ReleaseSite ${made.aborted.siteId} sites.commands`,
    ].sort(),
  );
  expect(dry.body.commands.every((command) => command.messageId === null)).toBe(true);
  const cliDry = await saga(['repair-orphans']);
  expect(cliDry.code).toBe(0);
  expect(cliDry.stdout).toContain('dry run: would send 6 commands (nothing sent');
  // Nothing changed.
  expect(dirExists(made.strayDirectory) && dirExists(made.storage.siteId)).toBe(true);
  expect(await databaseExists(made.database.name)).toBe(true);
  expect(await databaseExists(made.aborted.database)).toBe(true);
  expect(orphanLines(await audit())).toHaveLength(6);
  expect(
    system
      .events(Topics.storageEvents, { type: 'StorageDeprovisioned' })
      .filter((event) => event.payload && (event.payload as { siteId: string }).siteId === made.strayDirectory),
  ).toHaveLength(0);

  // The repair, as operator alice.
  const sent = await fetch(`${system.service('site-saga').url}/admin/orphans/repair`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ALICE}`, 'content-type': 'application/json' },
    body: JSON.stringify({ dryRun: false }),
  });
  expect(sent.status).toBe(202);
  const repair = (await sent.json()) as RepairResult;
  expect(repair.operator).toBe('alice');
  expect(commands(repair)).toEqual(commands(dry.body));
  expect(repair.commands.every((command) => typeof command.messageId === 'string')).toBe(true);

  const clean = await waitFor(
    async () => {
      const report = await audit();
      return report.orphans.length === 0 && report.incomplete.length === 0 ? report : null;
    },
    { within: '60s', what: 'a clean audit after the repair' },
  );
  expect(clean.liveSites).toBe(2);
  expect(dirExists(made.strayDirectory) || dirExists(made.storage.siteId)).toBe(false);
  expect(await databaseExists(made.database.name)).toBe(false);
  expect(await roleExists(made.database.name)).toBe(false);
  expect(await databaseExists(made.aborted.database)).toBe(false);
  // The commands went to the participants with the repair's id as their saga id: their replies say so.
  await waitFor(() => system.events(Topics.databasesEvents, { type: 'DatabaseDropped', sagaId: repair.repairId }).length === 2, {
    within: '20s',
    what: 'two DatabaseDropped replies naming the repair',
  });
  const released = await system.sitesApi<{ status: string }>(`/sites/${made.aborted.siteId}`);
  expect(released?.status).toBe('FAILED');

  const log = await system.admin<{ items: { repairId: string; operator: string; dryRun: boolean }[] }>('/admin/orphans/repairs');
  expect(log.body.items.slice(0, 2).map((item) => [item.operator, item.dryRun])).toEqual([
    ['alice', false],
    ['admin', true],
  ]);
  // In the audit log too, with the other operators' actions: who, and what it sent.
  const audited = await system.admin<{ items: { operator: string; action: string; outcome: string; detail: string | null }[] }>('/admin/audit-log?action=orphan-repair');
  expect(audited.status).toBe(200);
  // Newest first: alice's repair, the CLI's dry run, the dry run over HTTP.
  const [cliDryRun] = log.body.items.slice(1, 2).map((item) => item.repairId);
  expect(audited.body.items.slice(0, 3).map((entry) => [entry.operator, entry.outcome, entry.detail])).toEqual([
    ['alice', 'accepted', `sent 6 commands, 0 skipped (repair ${repair.repairId})`],
    ['admin', 'accepted', `dry run: would send 6 commands, 0 skipped (repair ${cliDryRun})`],
    ['admin', 'accepted', `dry run: would send 6 commands, 0 skipped (repair ${dry.body.repairId})`],
  ]);
  expect((await saga(['orphans'])).stdout).toContain('clean: nothing orphaned');
});

it('shows a site by name, domain and id: its sagas, records and effects; bad keys get 400 or 404', async () => {
  const byName = await system.admin<SiteLookup>(`/admin/sites/${made.healthy.name}`);
  expect(byName.status).toBe(200);
  expect(byName.body.by).toBe('name');
  const [site] = byName.body.sites;
  expect(site).toMatchObject({
    siteId: made.healthy.id,
    site: { name: made.healthy.name, domain: `${made.healthy.name}.example.com`, status: 'ACTIVE' },
    effects: { directory: true, database: true, role: true },
    problems: [],
  });
  expect(site!.sagas.map((each) => [each.id, each.type, each.status])).toEqual([[made.healthy.id, 'CreateSite', 'COMPLETED']]);
  for (const service of ['sites', 'storage', 'databases', 'bootstrap'] as const) expect(site!.records[service]?.sagaId).toBe(made.healthy.id);
  expect(site!.records.storage?.status).toBe('PROVISIONED');

  const byDomain = await system.admin<SiteLookup>(`/admin/sites/${made.healthy.name}.example.com`);
  expect(byDomain.body).toMatchObject({ by: 'domain', sites: [{ siteId: made.healthy.id }] });
  const byId = await system.admin<SiteLookup>(`/admin/sites/${made.healthy.id.toUpperCase()}`);
  expect(byId.body).toMatchObject({ by: 'id', sites: [{ siteId: made.healthy.id, effects: { directory: true } }] });

  // The repaired site: FAILED, nothing left, and both its sagas (the create that failed, the repair is not a saga).
  const repaired = await system.admin<SiteLookup>(`/admin/sites/${made.aborted.siteId}`);
  expect(repaired.body.sites[0]).toMatchObject({ site: { status: 'FAILED' }, effects: { directory: false, database: false, role: false }, problems: [] });

  const cli = await saga(['site', `${made.healthy.name}.example.com`]);
  expect(cli.code).toBe(0);
  expect(cli.stdout).toMatch(new RegExp(`${made.healthy.name}\\s+${made.healthy.name}\\.example\\.com\\s+ACTIVE`));
  expect(cli.stdout).toContain(`${made.healthy.id}  CreateSite  COMPLETED`);

  const unknown = await system.admin<{ message: string }>(`/admin/sites/nobody-${run}`);
  expect(unknown.status).toBe(404);
  expect(unknown.body.message).toBe(`no site, record, effect or saga has the name "nobody-${run}"`);
  const malformed = await system.admin<{ message: string; errors: { field: string }[] }>(`/admin/sites/${encodeURIComponent('Bad Name!')}`);
  expect(malformed.status).toBe(400);
  expect(malformed.body.message).toMatch(/is neither a site id \(uuid\), a site name nor a domain/);
  expect(malformed.body.errors[0]?.field).toBe('key');
  const halfUuid = await system.admin<{ message: string }>(`/admin/sites/${made.healthy.id.slice(0, 30)}`);
  expect(halfUuid.status).toBe(400);
  expect(halfUuid.body.message).toMatch(/looks like a site id but is not a uuid/);
  const badRepair = await system.admin<{ message: string }>('/admin/orphans/repair', {
    method: 'POST',
    body: JSON.stringify({ dryRun: 'no', kinds: ['everything'] }),
  });
  expect(badRepair.status).toBe(400);
  expect(badRepair.body.message).toMatch(/dryRun/);
  const cliUnknown = await saga(['site', `nobody-${run}`]);
  expect(cliUnknown.code).toBe(1);
  expect(cliUnknown.stderr).toContain(`no site, record, effect or saga has the key "nobody-${run}"`);
});

it('the page finds a site and follows its sagas live, and runs the audit, a dry run and the repair', async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/ensure-chromium.sh (as root) first`);
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'inventory-page-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 1000 },
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  const problems: string[] = [];
  const base = system.service('site-saga').url;

  const login = await page.goto(`${base}/admin/inventory`);
  expect(login?.status()).toBe(401);
  await page.getByLabel('Admin token').fill(system.adminToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/admin`);
  await page.getByRole('link', { name: 'Sites and orphans' }).click();
  await page.waitForURL(`${base}/admin/inventory`);
  page.on('console', (message) => {
    // The bad key below is answered 400 on purpose: Chromium logs that as a failed load.
    if (message.type() === 'error' && !/status of 400/.test(message.text())) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  await page.locator('#live[data-state="live"]').waitFor({ timeout: 15_000 });

  // Search → the site view.
  await page.getByLabel('Site name, domain or id').fill(made.healthy.name);
  await page.getByRole('button', { name: 'Show' }).click();
  const view = page.locator(`#site-view .site[data-site="${made.healthy.id}"]`);
  await view.waitFor({ timeout: 30_000 });
  expect(await view.getAttribute('data-status')).toBe('ACTIVE');
  expect(await view.locator('[data-effect="database"]').getAttribute('data-exists')).toBe('true');
  expect(await view.locator(`tr[data-saga="${made.healthy.id}"]`).getAttribute('data-status')).toBe('COMPLETED');
  await page.screenshot({ path: path.resolve(__dirname, '..', '..', '.local', 'test-logs', 'inventory-page.png') }).catch(() => undefined);

  // Live: deleting the site shows its DeleteSite saga and, at its end, the site DELETED with nothing left.
  await system.send(DeleteSite.create({ siteId: made.healthy.id }, causation(randomUUID())));
  await view.locator('tr[data-type="DeleteSite"]').waitFor({ timeout: 60_000 });
  await page
    .locator(`#site-view .site[data-site="${made.healthy.id}"][data-status="DELETED"] [data-effect="directory"][data-exists="false"]`)
    .waitFor({ timeout: 60_000 });

  // A bad key: the reason on the page.
  await page.getByLabel('Site name, domain or id').fill('Bad Name!');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.locator('#site-error', { hasText: 'is neither a site id' }).waitFor();

  // The audit on the page: clean, then one stray directory, dry run, repair, clean again.
  await page.getByRole('button', { name: 'Run audit' }).click();
  await page.locator('#audit-summary', { hasText: 'Clean' }).waitFor({ timeout: 30_000 });
  const stray = randomUUID();
  fs.mkdirSync(path.join(system.storageRoot, stray));
  await page.getByRole('button', { name: 'Run audit' }).click();
  await page.locator(`#orphan-rows tr[data-kind="directory"][data-name="${stray}"]`).waitFor({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Dry run repair' }).click();
  await page.locator('#repair-result[data-dry-run="true"][data-commands="1"]').waitFor({ timeout: 30_000 });
  expect(dirExists(stray)).toBe(true);
  await page.getByRole('button', { name: 'Send repair' }).click();
  await page.locator('#repair-result[data-dry-run="false"]').waitFor({ timeout: 30_000 });
  await waitFor(() => !dirExists(stray), { within: '30s', what: 'the stray directory removed by the page’s repair' });
  await page.getByRole('button', { name: 'Run audit' }).click();
  await page.locator('#audit-summary', { hasText: 'Clean' }).waitFor({ timeout: 30_000 });
  expect(problems).toEqual([]);
});
