import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CreateSite, SiteCreated, SiteCreationFailed, SiteCreationRejected, Topics } from '@sitesaga/contracts';
import { RunningSystem } from '../support/system';
import { waitFor } from '../support/wait-for';

/** Crashes and load: the orchestrator killed mid-saga, and 50 creations at once. */
jest.setTimeout(300_000);

const system = new RunningSystem({ label: 'resilience' });
beforeAll(() => system.start(), 180_000);
afterAll(() => system.stop(), 90_000);

const OUTCOMES = [SiteCreated, SiteCreationFailed, SiteCreationRejected];

async function createSites(count: number, label: string): Promise<string[]> {
  const ids = Array.from({ length: count }, () => randomUUID());
  await Promise.all(
    ids.map((siteId, index) => {
      const name = `${label}-${index}-${siteId.slice(0, 6)}`;
      return system.send(CreateSite.create({ name, domain: `${name}.example.com`, adminEmail: 'owner@example.com' }, { sagaId: siteId, correlationId: siteId, causationId: null }));
    }),
  );
  return ids;
}

const outcomesOf = (siteId: string) => system.events(Topics.siteSagaEvents, { sagaId: siteId }).filter((event) => OUTCOMES.some((outcome) => outcome.type === event.type));

async function expectEachCreatedOnce(ids: string[]): Promise<void> {
  for (const siteId of ids) {
    expect([siteId, outcomesOf(siteId).map((event) => event.type)]).toEqual([siteId, ['SiteCreated']]);
    expect(fs.existsSync(path.join(system.storageRoot, siteId, 'wp-content'))).toBe(true);
  }
  const databases = await system.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname = ANY($1)`, [ids.map((id) => `site_${id.replace(/-/g, '')}`)]);
  expect(databases).toHaveLength(ids.length);
  // Nothing created twice: one record per site, one admin user per site database.
  const records = await system.query<{ n: string }>(`SELECT count(*) AS n FROM sites WHERE id = ANY($1)`, [ids], system.serviceDatabase('sites'));
  expect(Number(records[0]?.n)).toBe(ids.length);
}

describe('resilience', () => {
  it('resumes every saga after the orchestrator is killed with SIGKILL mid-flight', async () => {
    const ids = await createSites(6, 'kill');
    // Kill once the first sagas are under way, with work in every stage.
    await waitFor(() => system.events(Topics.sitesEvents, { type: 'SiteReserved' }).some((event) => ids.includes(event.sagaId)), {
      within: '60s',
      what: 'a site reserved',
    });
    await system.service('site-saga').kill();
    await system.restart('site-saga');
    await waitFor(() => ids.every((siteId) => outcomesOf(siteId).length > 0), { within: '120s', what: 'an outcome for every saga' });
    await expectEachCreatedOnce(ids);
  });

  it('takes 50 concurrent creations to a terminal state, each exactly once', async () => {
    const ids = await createSites(50, 'load');
    await waitFor(() => ids.every((siteId) => outcomesOf(siteId).length > 0), { within: '240s', what: 'an outcome for each of 50 sagas', interval: 500 });
    await expectEachCreatedOnce(ids);
  });
});
