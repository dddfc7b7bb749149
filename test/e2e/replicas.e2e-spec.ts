import * as fs from 'node:fs';
import { SiteCreated, Topics } from '@sitesaga/contracts';
import { APPS, type App, RunningSystem } from '../support/system';
import { waitFor } from '../support/wait-for';

/**
 * Scale-out, tested rather than assumed (issue 9): two replicas of every service in one
 * consumer group, against one broker and one fresh set of databases. Both boot at once,
 * so they race to create and migrate each database; a load of 40 creations runs across
 * four partitions; mid-load one replica of every service is killed with SIGKILL, so its
 * partitions, and maybe the outbox relay's leadership and the deadline sweeper, move to
 * the survivor. Every saga must still end SiteCreated, once, with nothing done twice.
 */
jest.setTimeout(600_000);

const SAGAS = 40;

const system = new RunningSystem({ label: 'replicas' });
beforeAll(() => system.start({ partitions: 4, replicas: 2, readyWithin: '180s' }), 420_000);
afterAll(() => system.stop(), 180_000);

it('creates every site once when two replicas of each service boot together and one of each is killed mid-load', async () => {
  // Both replicas of every service came up on databases neither found migrated.
  for (const app of APPS) expect([app, system.processesOf(app).length]).toEqual([app, 2]);
  for (const app of APPS) {
    const duplicates = await system.query<{ name: string; n: string }>(
      `SELECT name, count(*) AS n FROM migrations GROUP BY name HAVING count(*) > 1`,
      [],
      system.serviceDatabase(app),
    );
    expect([app, duplicates]).toEqual([app, []]);
  }

  const ids = await system.createSites(SAGAS, 'rep');
  const outcomes = (siteId: string) => system.outcomesOf(siteId);
  const started = () => ids.filter((siteId) => system.events(Topics.siteSagaEvents, { sagaId: siteId, type: 'SiteCreationStarted' }).length > 0).length;

  // Mid-load: some sagas under way, not all finished. Kill one replica of each service.
  await waitFor(() => started() >= 5, { within: '120s', what: 'the first sagas under way', interval: 50 });
  const killed = new Map<App, number>();
  for (const app of APPS) {
    const victim = system.replicas.get(app)![0]!;
    killed.set(app, victim.pid);
    await victim.kill();
  }
  const finishedWhenKilled = ids.filter((siteId) => outcomes(siteId).length > 0).length;
  expect(finishedWhenKilled).toBeLessThan(SAGAS);

  await waitFor(() => ids.every((siteId) => outcomes(siteId).length > 0), { within: '420s', what: `an outcome for each of ${SAGAS} sagas`, interval: 500 });
  for (const siteId of ids) expect([siteId, outcomes(siteId).map((event) => event.type)]).toEqual([siteId, ['SiteCreated']]);

  // The survivors are the ones still running.
  for (const app of APPS) {
    const survivor = system.service(app);
    expect(survivor.pid).not.toBe(killed.get(app));
    expect((await fetch(`${survivor.url}/health`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
  }

  // Nothing done twice: one record per site in every service database…
  for (const [app, table] of [
    ['sites', 'sites'],
    ['storage', 'storage_records'],
    ['databases', 'database_records'],
    ['bootstrap', 'bootstrap_records'],
  ] as const) {
    const column = table === 'sites' ? 'id' : 'site_id';
    const [row] = await system.query<{ n: string; distinct_n: string }>(
      `SELECT count(*) AS n, count(DISTINCT ${column}) AS distinct_n FROM ${table} WHERE ${column} = ANY($1)`,
      [ids],
      system.serviceDatabase(app),
    );
    expect([table, Number(row?.n), Number(row?.distinct_n)]).toEqual([table, SAGAS, SAGAS]);
  }
  const [sagas] = await system.query<{ n: string }>(
    `SELECT count(*) AS n FROM saga_instances WHERE id = ANY($1) AND status = 'COMPLETED'`,
    [ids],
    system.serviceDatabase('site-saga'),
  );
  expect(Number(sagas?.n)).toBe(SAGAS);
  // …one directory per site and nothing else left in the storage root (no trash)…
  const entries = fs.readdirSync(system.storageRoot).sort();
  const siteIds = ids.map((id) => id.toLowerCase());
  expect(entries.filter((name) => !name.startsWith('.')).sort()).toEqual([...siteIds].sort());
  // …except, at most, the staging tree the killed storage replica was building. It cannot be
  // told from a sibling's build in progress until it is a minute old; the survivor's
  // minutely sweep removes it then (site-directories.ts). Its site was still provisioned.
  const staging = entries.filter((name) => name.startsWith('.'));
  expect(staging.length).toBeLessThanOrEqual(1);
  for (const name of staging) expect([name, siteIds.some((id) => new RegExp(`^\\.tmp-${id}-[0-9a-f]+$`).test(name))]).toEqual([name, true]);
  // …one database and one role per site.
  const names = ids.map((id) => `site_${id.replace(/-/g, '')}`);
  expect((await system.query(`SELECT datname FROM pg_database WHERE datname = ANY($1)`, [names])).length).toBe(SAGAS);
  expect((await system.query(`SELECT rolname FROM pg_roles WHERE rolname = ANY($1)`, [names])).length).toBe(SAGAS);

  // Every outbox drained: the relay leadership moved where it had to.
  for (const app of APPS) {
    await waitFor(
      async () => {
        const [unsent] = await system.query<{ n: string }>(`SELECT count(*) AS n FROM outbox_messages WHERE sent_at IS NULL`, [], system.serviceDatabase(app));
        return Number(unsent?.n) === 0;
      },
      { within: '60s', what: `${app}'s outbox drained` },
    );
  }
});
