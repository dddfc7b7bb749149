import { ActivateSite, BootstrapSite, DeprovisionStorage, ProvisionDatabase, ProvisionStorage, ReleaseSite, ReserveSite } from '@sitesaga/contracts';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { type AdminTestApp, SEALED_CREDENTIALS, startAdminTestApp } from '@sitesaga/site-saga/testing';

/**
 * The admin page in a real headless Chromium (Debian's package, see
 * scripts/ensure-chromium.sh), signed in with the token, following sagas live.
 *
 * The server is the admin module booted in-process on a fresh database with a test saga
 * definition (apps/site-saga/src/admin/testing): the orchestrator's real process was not
 * ready when this was written. Switching to it later only changes how sagas are made.
 */
jest.setTimeout(120_000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = resolve(__dirname, '..', '..', '.local', 'test-logs', 'admin-page.png');
const TOKEN = `admin-${randomUUID()}`;
const run = randomUUID().slice(0, 4);
const site = (name: string) => `${name}-${run}`;

let harness: AdminTestApp;
let context: BrowserContext;
let profile: string;
const problems: string[] = [];

/** Sagas in every state, driven through the engine. */
async function makeSagas(): Promise<Record<'completed' | 'compensated' | 'failed' | 'parallel' | 'reserving', string>> {
  const { fixtures } = harness;
  const reserved = async (name: string) => {
    const id = await fixtures.start(name);
    await fixtures.succeed(id, ReserveSite, { name, domain: `${name}.example.com` });
    return id;
  };
  const completed = await reserved(site('aurora-blog'));
  await fixtures.succeed(completed, ProvisionStorage, { path: `/srv/sites/${site('aurora-blog')}` });
  await fixtures.succeed(completed, ProvisionDatabase, { databaseName: 'site_aurora', roleName: 'site_aurora', credentials: SEALED_CREDENTIALS });
  await fixtures.succeed(completed, BootstrapSite, { adminUser: 'admin' });
  await fixtures.succeed(completed, ActivateSite, { url: `https://${site('aurora-blog')}.example.com` });

  const compensated = await reserved(site('birch-shop'));
  await fixtures.succeed(compensated, ProvisionStorage, { path: `/srv/sites/${site('birch-shop')}` });
  await fixtures.fail(compensated, ProvisionDatabase, 'business', 'database quota exceeded');
  await fixtures.succeed(compensated, DeprovisionStorage);
  await fixtures.succeed(compensated, ReleaseSite);

  const failed = await fixtures.start(site('cedar-news'));
  await fixtures.abort(failed, 'duplicate order');
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    await fixtures.fail(failed, ReleaseSite, 'transient', 'connection to the sites database refused');
    if (attempt < 3) await fixtures.deadline(failed, 'ReserveSite');
  }

  const parallel = await reserved(site('delta-docs'));
  await fixtures.succeed(parallel, ProvisionStorage, { path: `/srv/sites/${site('delta-docs')}` });

  const reserving = await fixtures.start(site('ember-wiki'));
  return { completed, compensated, failed, parallel, reserving };
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/ensure-chromium.sh (as root) first`);
  // The engine in the root module, as an orchestrator module would provide it: AdminModule finds it anyway.
  harness = await startAdminTestApp({ adminToken: TOKEN, stream: { pollMs: 250 }, engineIn: 'root' });
  profile = mkdtempSync(join(tmpdir(), 'admin-page-chromium-'));
  // A persistent context is how Playwright takes a fresh --user-data-dir of our own.
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
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

/** From now on, any error the page logs (a CSP violation, a failed request, a script error) is a problem. */
function watchForProblems(page: Page): void {
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
}

const stateOf = (page: Page, step: string) => page.locator(`#detail .step[data-step="${step}"]`).getAttribute('data-state');

it('signs in, lists sagas, shows a timeline with parallel steps, and follows changes live', async () => {
  const sagas = await makeSagas();
  const page = context.pages()[0] ?? (await context.newPage());

  const login = await page.goto(`${harness.url}/admin`);
  expect(login?.status()).toBe(401);
  mkdirSync(resolve(SCREENSHOT, '..'), { recursive: true });
  await page.screenshot({ path: SCREENSHOT.replace(/\.png$/, '-login.png') });
  await page.getByLabel('Admin token').fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${harness.url}/admin`);
  watchForProblems(page); // the login page's own 401 is expected
  await page.locator('#live[data-state="live"]').waitFor({ timeout: 10_000 });
  expect(await page.evaluate('document.cookie')).toBe(''); // HttpOnly: no script reads the session

  // The list: newest first, every saga with its status.
  const rows = page.locator('#saga-rows tr');
  await page.locator(`#saga-rows tr[data-id="${sagas.reserving}"]`).waitFor();
  expect(await rows.count()).toBe(5);
  expect(await rows.evaluateAll((all) => all.map((row) => row.getAttribute('data-status')))).toEqual(['RUNNING', 'RUNNING', 'FAILED', 'COMPENSATED', 'COMPLETED']);
  expect(await page.locator('#stats .chip[data-status="FAILED"] strong').textContent()).toBe('1');

  // A saga's timeline: the parallel group's steps side by side in one stage.
  await page.getByRole('link', { name: site('delta-docs') }).click();
  await page.locator('#detail-title', { hasText: site('delta-docs') }).waitFor();
  const parallel = page.locator('#detail .stage[data-position="1"] .step');
  expect(await parallel.evaluateAll((steps) => steps.map((step) => `${step.getAttribute('data-step')} ${step.getAttribute('data-state')}`))).toEqual([
    'ProvisionStorage SUCCEEDED',
    'ProvisionDatabase RUNNING',
  ]);
  const [left, right] = await parallel.evaluateAll((steps) =>
    steps.map((step) => {
      const box = step.getBoundingClientRect();
      return { top: box.top, left: box.left, right: box.right };
    }),
  );
  expect(Math.abs((left?.top ?? 0) - (right?.top ?? 1))).toBeLessThan(2); // one row
  expect(right!.left).toBeGreaterThan(left!.right);
  expect(await page.locator('#detail .history tbody tr').count()).toBe(7);
  expect(await page.locator('#retry').isEnabled()).toBe(true);
  expect(await page.locator('#abort').isEnabled()).toBe(true);

  // Changes made elsewhere show up without a reload.
  await page.evaluate('window.stayed = true'); // gone if the page reloads
  await harness.fixtures.succeed(sagas.parallel, ProvisionDatabase, { databaseName: 'site_delta', roleName: 'site_delta', credentials: SEALED_CREDENTIALS });
  await page.locator('#detail .step[data-step="BootstrapSite"][data-state="RUNNING"]').waitFor({ timeout: 10_000 });
  expect(await stateOf(page, 'ProvisionDatabase')).toBe('SUCCEEDED');

  const aborted = await fetch(`${harness.url}/admin/sagas/${sagas.parallel}/abort`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 'customer cancelled the order' }),
  });
  expect(aborted.status).toBe(202);
  await page.locator(`#saga-rows tr[data-id="${sagas.parallel}"][data-status="COMPENSATING"]`).waitFor({ timeout: 10_000 });
  await page.locator('#detail .detail-head .badge', { hasText: 'COMPENSATING' }).waitFor({ timeout: 10_000 });
  await page.locator('#detail .failure', { hasText: 'customer cancelled the order' }).waitFor();
  expect(await page.locator('#abort').isEnabled()).toBe(false);

  // ... and so do changes nobody published here (another replica): the stream's poll finds them.
  await harness.unitOfWork.run(null, (tx) => harness.engine.abort(tx, sagas.reserving, 'from another replica'));
  await page.locator(`#saga-rows tr[data-id="${sagas.reserving}"][data-status="COMPENSATING"]`).waitFor({ timeout: 10_000 });
  expect(await page.evaluate('window.stayed')).toBe(true);

  // The buttons call the API: retry the FAILED saga from the page.
  await page.getByRole('link', { name: site('cedar-news') }).click();
  await page.locator('#detail-title', { hasText: site('cedar-news') }).waitFor();
  expect(await page.locator('#abort').isEnabled()).toBe(false);
  await page.locator('#retry').click();
  await page.locator('#action-message', { hasText: 'Retry accepted' }).waitFor({ timeout: 10_000 });
  expect(await stateOf(page, 'ReserveSite')).toBe('COMPENSATING');

  // The counts follow too: three sagas are compensating now.
  await page.locator('#stats .chip[data-status="COMPENSATING"] strong', { hasText: '3' }).waitFor({ timeout: 10_000 });
  expect(await page.locator('#stats .chip[data-status="FAILED"] strong').textContent()).toBe('0');

  // A live update re-renders the detail: what the operator was told about the retry stays.
  await harness.fixtures.succeed(sagas.failed, ReleaseSite);
  await page.locator('#detail .detail-head .badge', { hasText: 'COMPENSATED' }).waitFor({ timeout: 10_000 });
  expect(await page.locator('#action-message').textContent()).toMatch(/^Retry accepted: the saga is COMPENSATING\.$/);

  // Back to the saga with the parallel group for the picture.
  await page.getByRole('link', { name: site('delta-docs') }).click();
  await page.locator('#detail-title', { hasText: site('delta-docs') }).waitFor();
  await page.locator('details.latency summary').click();
  await page.screenshot({ path: SCREENSHOT, fullPage: true });

  expect(await page.content()).not.toContain(TOKEN);
  expect(problems).toEqual([]);
});
