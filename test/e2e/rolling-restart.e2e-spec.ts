import { randomUUID } from 'node:crypto';
import { CreateSite, SiteCreated, SiteCreationFailed, SiteCreationRejected, Topics } from '@sitesaga/contracts';
import { APPS, RunningSystem } from '../support/system';
import { waitFor } from '../support/wait-for';

/**
 * A rolling restart of every service (SIGTERM, then a new process) while 100 sagas run:
 * graceful shutdown stops consuming, lets handlers finish and commit, flushes the outbox;
 * nothing is lost and nothing is done twice.
 */
jest.setTimeout(420_000);

const system = new RunningSystem({ label: 'rolling' });
beforeAll(() => system.start(), 180_000);
afterAll(() => system.stop(), 180_000);

const OUTCOMES = new Set<string>([SiteCreated.type, SiteCreationFailed.type, SiteCreationRejected.type]);

it('loses nothing and duplicates nothing when every service restarts during 100 running sagas', async () => {
  const ids = Array.from({ length: 100 }, () => randomUUID());
  await Promise.all(
    ids.map((siteId, index) => {
      const name = `roll-${index}-${siteId.slice(0, 6)}`;
      return system.send(CreateSite.create({ name, domain: `${name}.example.com`, adminEmail: 'owner@example.com' }, { sagaId: siteId, correlationId: siteId, causationId: null }));
    }),
  );
  const outcomes = (siteId: string) => system.events(Topics.siteSagaEvents, { sagaId: siteId }).filter((event) => OUTCOMES.has(event.type));

  // One service after the other, while sagas are in flight.
  const finishedWhenRestarted: Record<string, number> = {};
  for (const app of APPS) {
    finishedWhenRestarted[app] = ids.filter((siteId) => outcomes(siteId).length > 0).length;
    await system.restart(app);
  }
  // The restarts really overlapped running sagas (the first began before any could finish).
  expect(finishedWhenRestarted.sites).toBeLessThan(ids.length);

  await waitFor(() => ids.every((siteId) => outcomes(siteId).length > 0), { within: '300s', what: 'an outcome for each of 100 sagas', interval: 500 });
  for (const siteId of ids) expect([siteId, outcomes(siteId).map((event) => event.type)]).toEqual([siteId, ['SiteCreated']]);

  // Nothing done twice: one site record, one storage record, one database record, one
  // bootstrap record per site, and every inbox free of duplicates by construction.
  for (const [app, table] of [['sites', 'sites'], ['storage', 'storage_records'], ['databases', 'database_records'], ['bootstrap', 'bootstrap_records']] as const) {
    const column = table === 'sites' ? 'id' : 'site_id';
    const [row] = await system.query<{ n: string; distinct_n: string }>(
      `SELECT count(*) AS n, count(DISTINCT ${column}) AS distinct_n FROM ${table} WHERE ${column} = ANY($1)`,
      [ids],
      system.serviceDatabase(app),
    );
    expect([table, Number(row?.n), Number(row?.distinct_n)]).toEqual([table, ids.length, ids.length]);
  }
  const [sagas] = await system.query<{ n: string }>(`SELECT count(*) AS n FROM saga_instances WHERE id = ANY($1) AND status = 'COMPLETED'`, [ids], system.serviceDatabase('site-saga'));
  expect(Number(sagas?.n)).toBe(ids.length);
  const [unsent] = await system.query<{ n: string }>(`SELECT count(*) AS n FROM outbox_messages WHERE sent_at IS NULL`, [], system.serviceDatabase('site-saga'));
  expect(Number(unsent?.n)).toBe(0);
});
