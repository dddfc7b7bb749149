import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CreateSite, SiteCreated, SiteCreationFailed, SiteCreationRejected, Topics } from '@sitesaga/contracts';
import { type App, RunningSystem } from '../support/system';

/**
 * Each step of the create-site saga failing in turn, and a step that never answers: the
 * saga compensates in reverse order and leaves no directory, database or role behind.
 */
jest.setTimeout(180_000);

// Timeouts and backoffs ×0.1: a 30 s reply deadline becomes 3 s.
const system = new RunningSystem({ label: 'compensate', env: { 'site-saga': { SAGA_TIME_SCALE: '0.1' } } });
beforeAll(() => system.start(), 180_000);
afterAll(() => system.stop(), 60_000);

const siteName = (siteId: string) => `site_${siteId.replace(/-/g, '')}`;

async function createSite(siteId: string): Promise<void> {
  const name = `c-${siteId.slice(0, 8)}`;
  await system.send(CreateSite.create({ name, domain: `${name}.example.com`, adminEmail: 'owner@example.com' }, { sagaId: siteId, correlationId: siteId, causationId: null }));
}

async function expectNothingLeft(siteId: string): Promise<void> {
  expect(fs.existsSync(path.join(system.storageRoot, siteId))).toBe(false);
  expect(await system.query(`SELECT datname FROM pg_database WHERE datname = $1`, [siteName(siteId)])).toEqual([]);
  expect(await system.query(`SELECT rolname FROM pg_roles WHERE rolname = $1`, [siteName(siteId)])).toEqual([]);
}

const sagaDetail = (sagaId: string) =>
  system.admin<{ status: string; steps: { name: string; state: string; attempts: number }[] }>(`/admin/sagas/${sagaId}`).then((response) => response.body);

const failingSteps: [step: string, app: App, compensated: string[]][] = [
  ['ProvisionStorage', 'storage', ['ReleaseSite', 'DropDatabase']],
  ['ProvisionDatabase', 'databases', ['ReleaseSite', 'DeprovisionStorage']],
  ['BootstrapSite', 'bootstrap', ['ReleaseSite', 'DeprovisionStorage', 'DropDatabase']],
  ['ActivateSite', 'sites', ['ReleaseSite', 'DeprovisionStorage', 'DropDatabase']],
];

describe('create-site compensation', () => {
  it.each(failingSteps)('undoes everything when %s fails', async (step, app, compensations) => {
    const siteId = randomUUID();
    await system.setFaults(app, [{ command: step, mode: 'fail', match: siteId }]);
    await createSite(siteId);
    const outcome = await system.waitForOutcome(siteId, [SiteCreated, SiteCreationFailed, SiteCreationRejected]);
    expect(outcome.type).toBe('SiteCreationFailed');
    expect(outcome.payload).toMatchObject({ siteId, failedStep: step });

    await expectNothingLeft(siteId);
    const record = await fetch(`${system.service('sites').url}/sites/${siteId}`, { headers: system.operatorHeaders }).then((response) => response.json() as Promise<{ status: string }>);
    expect(record.status).toBe('FAILED');
    // The compensations that ran, and only those.
    const sent = new Set(
      [Topics.sitesEvents, Topics.storageEvents, Topics.databasesEvents].flatMap((topic) => system.events(topic, { sagaId: siteId }).map((event) => event.type)),
    );
    const undone = { ReleaseSite: 'SiteReleased', DeprovisionStorage: 'StorageDeprovisioned', DropDatabase: 'DatabaseDropped' };
    for (const [command, event] of Object.entries(undone)) expect([command, sent.has(event)]).toEqual([command, compensations.includes(command)]);

    const detail = await sagaDetail(siteId);
    expect(detail.status).toBe('COMPENSATED');
    expect(detail.steps.find((candidate) => candidate.name === step)?.state).toBe('FAILED');
    await system.setFaults(app, []);
  });

  it('re-sends a command that is never answered after its deadline, then compensates it as maybe done', async () => {
    const siteId = randomUUID();
    await system.setFaults('storage', [{ command: 'ProvisionStorage', mode: 'stall', match: siteId }]);
    await createSite(siteId);
    const outcome = await system.waitForOutcome(siteId, [SiteCreated, SiteCreationFailed, SiteCreationRejected], '120s');
    expect(outcome).toMatchObject({ type: 'SiteCreationFailed', payload: { failedStep: 'ProvisionStorage' } });

    const detail = await sagaDetail(siteId);
    expect(detail.steps.find((step) => step.name === 'ProvisionStorage')).toMatchObject({ attempts: 5 });
    // Never answered, so it may have taken effect: its undo was sent too.
    expect(system.events(Topics.storageEvents, { sagaId: siteId, type: 'StorageDeprovisioned' }).length).toBeGreaterThanOrEqual(1);
    await expectNothingLeft(siteId);
    await system.setFaults('storage', []);
  });
});
