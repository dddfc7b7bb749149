import { ReleaseSite } from '@sitesaga/contracts';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { type AdminTestApp, startAdminTestApp } from '@sitesaga/site-saga/testing';

/**
 * The bulk operations page (/admin/bulk) in a real headless Chromium, signed in with a
 * named operator token: a bad filter shows its field errors, a dry run shows the count,
 * a started bulk retry completes, and the audit log names the operator. The server is the
 * admin module in-process on a fresh database (apps/site-saga/src/admin/testing).
 */
jest.setTimeout(120_000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = resolve(__dirname, '..', '..', '.local', 'test-logs', 'bulk-page.png');
const TOKEN = `admin-${randomUUID()}`;
const CAROL = randomBytes(20).toString('hex');
const run = randomUUID().slice(0, 4);

let harness: AdminTestApp;
let context: BrowserContext;
let profile: string;

/** A saga whose compensation ran out of attempts: FAILED. */
async function failedSaga(name: string): Promise<string> {
  const { fixtures } = harness;
  const id = await fixtures.start(`${name}-${run}`);
  await fixtures.abort(id, 'duplicate order');
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    await fixtures.fail(id, ReleaseSite, 'transient', 'connection to the sites database refused');
    if (attempt < 3) await fixtures.deadline(id, 'ReserveSite');
  }
  return id;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/ensure-chromium.sh (as root) first`);
  harness = await startAdminTestApp({ adminToken: TOKEN, namedTokens: [{ name: 'carol', secret: CAROL }] });
  profile = mkdtempSync(join(tmpdir(), 'bulk-page-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1440, height: 1000 },
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
});

afterAll(async () => {
  await context?.close();
  await harness?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

it('counts the sagas a filter matches, starts a bulk retry, and lists it in the audit log under the operator', async () => {
  const failed = [await failedSaga('oak-shop'), await failedSaga('pine-blog')];
  await harness.fixtures.start(`still-running-${run}`);
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];

  await page.goto(`${harness.url}/admin/bulk`);
  await page.getByLabel('Admin token').fill(CAROL);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${harness.url}/admin`);
  await page.getByRole('link', { name: 'Bulk operations & audit log' }).click();
  await page.waitForURL(`${harness.url}/admin/bulk`);
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));

  // A bad filter: the server's field errors, by field.
  await page.getByLabel('Status').selectOption('FAILED');
  await page.getByLabel('Created from (ISO 8601)').fill('yesterday');
  await page.getByRole('button', { name: 'Count (dry run)' }).click();
  await page.locator('#bulk-errors li', { hasText: 'filter.createdFrom' }).waitFor({ timeout: 10_000 });
  expect(await page.locator('#bulk-start').isEnabled()).toBe(false);
  // The browser logs the refused request itself; that one is expected, nothing else.
  expect(problems).toEqual([expect.stringMatching(/status of 400/)]);
  problems.length = 0;

  // The dry run: the count, what can be retried, the ids.
  await page.getByLabel('Created from (ISO 8601)').fill('');
  await page.getByRole('button', { name: 'Count (dry run)' }).click();
  const count = page.locator('#dry-run-count');
  await count.waitFor({ timeout: 10_000 });
  expect(await count.textContent()).toBe('2 sagas match, 2 can be retried');
  expect((await page.locator('#dry-run-result li').allTextContents()).sort()).toEqual([...failed].sort());

  // Start, confirmed in the dialog: it runs in the background and the table follows it.
  page.once('dialog', (dialog) => void dialog.accept());
  await page.getByRole('button', { name: 'Start: retry 2 sagas' }).click();
  const finished = page.locator('#bulk-rows tr[data-status="completed"]');
  await finished.waitFor({ timeout: 20_000 });
  expect(await finished.locator('td').allTextContents()).toEqual(expect.arrayContaining(['retry', 'completed', 'carol', 'status=FAILED', '2', '0']));
  for (const id of failed) expect((await harness.engine.store.load(harness.dataSource.manager, id))?.status).toBe('COMPENSATING');

  // The audit log names carol, the filter and the counts.
  const entry = page.locator('#audit-rows tr[data-action="bulk-retry"]');
  await entry.locator('td', { hasText: 'completed: 2 done' }).waitFor({ timeout: 10_000 });
  expect(await entry.locator('.operator').textContent()).toBe('carol');
  mkdirSync(resolve(SCREENSHOT, '..'), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });

  expect(await page.content()).not.toContain(CAROL);
  expect(problems).toEqual([]);
});
