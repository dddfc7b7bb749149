import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CreateSite, DeleteSite, SiteCreated, SiteDeleted } from '@sitesaga/contracts';
import { chromium } from 'playwright-core';
import { RunningSystem } from '../support/system';
import { waitFor } from '../support/wait-for';

/**
 * Keyed exclusion (docs/adr/0008): a DeleteSite that arrives while the same site's
 * CreateSite still runs waits (visible in the admin API and page), and runs when the
 * create ends; the site is then gone. The create is held at ActivateSite by a stall fault.
 */
jest.setTimeout(240_000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CLI = path.resolve(__dirname, '..', '..', 'apps', 'cli', 'dist', 'main.js');
// Timeouts ×0.4: ActivateSite waits 12 s per attempt, 5 attempts, long enough to look at the waiting delete.
const system = new RunningSystem({ label: 'delete-waits', env: { 'site-saga': { SAGA_TIME_SCALE: '0.4' } } });
beforeAll(() => system.start(), 180_000);
afterAll(() => system.stop(), 60_000);

interface Detail {
  status: string;
  waitingFor: string | null;
  steps: { name: string; state: string }[];
  history: { type: string; messageId: string | null; at: string }[];
}
const detailOf = async (sagaId: string) => (await system.admin<Detail>(`/admin/sagas/${sagaId}`)).body;
/** `saga <args>` as an operator runs it, with this system's settings; its stdout. */
const saga = (args: string[]) =>
  new Promise<string>((resolve, reject) => {
    const settings = system.envOf('site-saga');
    execFile(
      process.execPath,
      [CLI, ...args],
      {
        cwd: tmpdir(),
        timeout: 60_000,
        env: {
          PATH: process.env.PATH ?? '',
          KAFKA_BROKERS: settings.KAFKA_BROKERS!,
          KAFKA_TOPIC_PREFIX: settings.KAFKA_TOPIC_PREFIX!,
          ADMIN_URL: system.service('site-saga').url,
          ADMIN_TOKEN: system.adminToken,
          SITES_URL: system.service('sites').url,
        },
      },
      (error, stdout, stderr) => (error ? reject(new Error(`saga ${args.join(' ')}: ${error.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
const siteStatus = async (siteId: string) =>
  (
    (await fetch(`${system.service('sites').url}/sites/${siteId}`, { headers: system.operatorHeaders }).then((response) =>
      response.ok ? response.json() : undefined,
    )) as { status: string } | undefined
  )?.status;

it('makes a DeleteSite wait for the running CreateSite of its site, shows it waiting, then deletes the site once the create completes', async () => {
  const siteId = randomUUID();
  const name = `wait-${siteId.slice(0, 8)}`;
  await system.setFaults('sites', [{ command: 'ActivateSite', mode: 'stall', match: siteId }]);
  await system.send(
    CreateSite.create({ name, domain: `${name}.example.com`, adminEmail: 'owner@example.com' }, { sagaId: siteId, correlationId: siteId, causationId: null }),
  );
  await waitFor(async () => (await detailOf(siteId)).steps.find((step) => step.name === 'ActivateSite')?.state === 'RUNNING', {
    within: '90s',
    what: 'the create saga at ActivateSite',
  });

  const deletion = randomUUID();
  await system.send(DeleteSite.create({ siteId }, { sagaId: deletion, correlationId: deletion, causationId: null }));

  const waiting = await waitFor(
    async () => {
      const response = await system.admin<Detail>(`/admin/sagas/${deletion}`);
      return response.status === 200 ? response.body : undefined;
    },
    { within: '60s', what: 'the delete saga recorded' },
  );
  expect(waiting).toMatchObject({ status: 'RUNNING', waitingFor: siteId });
  expect(waiting.steps.every((step) => step.state === 'PENDING')).toBe(true);
  const listed = await system.admin<{ items: { id: string; waitingFor: string | null; definitionVersion: number; versionDeployed: boolean }[] }>(
    '/admin/sagas?type=DeleteSite&limit=200',
  );
  expect(listed.body.items.find((item) => item.id === deletion)).toMatchObject({ waitingFor: siteId, definitionVersion: 1, versionDeployed: true });
  expect(await siteStatus(siteId)).not.toBe('DELETING');

  // The CLI says so too.
  expect(await saga(['show', deletion])).toContain(`waiting for saga ${siteId} (same site): begins when it ends`);
  expect((await saga(['list', '--type', 'DeleteSite'])).split('\n').find((line) => line.includes(deletion))).toContain(`waiting for saga ${siteId}`);

  // The admin page, in headless Chromium: the list row and the detail say what it waits for.
  const profile = mkdtempSync(path.join(tmpdir(), 'delete-waits-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 1000 },
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const adminUrl = `${system.service('site-saga').url}/admin`;
    await page.goto(adminUrl);
    await page.getByLabel('Admin token').fill(system.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(adminUrl);
    const row = page.locator(`#saga-rows tr[data-id="${deletion}"]`);
    await row.waitFor({ timeout: 20_000 });
    expect(await row.textContent()).toContain(`waiting for saga ${siteId.slice(0, 8)}`);
    await row.locator('td.site a').click();
    await page.locator('#waiting-for', { hasText: siteId }).waitFor({ timeout: 20_000 });
    expect(await page.locator('#waiting-for').textContent()).toContain(`Waiting for saga ${siteId}`);
    fs.mkdirSync(path.resolve(__dirname, '..', '..', '.local', 'test-logs'), { recursive: true });
    await page.screenshot({ path: path.resolve(__dirname, '..', '..', '.local', 'test-logs', 'delete-waits-for-create.png'), fullPage: true });
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }

  // The stall is lifted: ActivateSite's next attempt succeeds, the create completes, and the delete begins in that same transaction.
  await system.setFaults('sites', []);
  await system.waitForOutcome(siteId, [SiteCreated], '90s');
  await system.waitForOutcome(deletion, [SiteDeleted], '90s');
  const deleted = await detailOf(deletion);
  expect(deleted.status).toBe('COMPLETED');
  expect(deleted.history.map((entry) => entry.type)).toEqual(expect.arrayContaining(['DeleteSite', 'WaitingForSaga', 'ExclusionReleased', 'MarkSiteDeleting']));
  expect(deleted.history.find((entry) => entry.type === 'ExclusionReleased')?.messageId).toBe(siteId);
  const created = await detailOf(siteId);
  expect(created.status).toBe('COMPLETED');
  expect(Date.parse(deleted.history.find((entry) => entry.type === 'ExclusionReleased')!.at)).toBe(
    Date.parse(created.history.find((entry) => entry.type === 'SiteCreated')!.at),
  );
  expect(await siteStatus(siteId)).toBe('DELETED');
  expect(fs.existsSync(path.join(system.storageRoot, siteId))).toBe(false);
});
