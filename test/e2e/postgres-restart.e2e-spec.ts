import { SiteCreated, SiteCreationFailed, Topics } from '@sitesaga/contracts';
import { type DedicatedPostgres, startDedicatedPostgres } from '../support/dedicated-postgres';
import { APPS, RunningSystem } from '../support/system';
import { waitFor } from '../support/wait-for';

/**
 * Issue 9, item 5: the Postgres server stopped (immediate shutdown: every session cut, no
 * goodbye) for 25 s under 20 running creations, then started again. Before, the
 * databases service died of an unhandled 'error' from a lost connection and every saga
 * ended SiteCreationFailed. An outage of the database must delay sagas, never fail them,
 * and must kill no process. The server is one of this test's own: all five services (their
 * databases and the site databases) live on it; the shared server is never stopped.
 */
jest.setTimeout(600_000);

const SAGAS = 20;
const OUTAGE_MS = 25_000;

let postgres: DedicatedPostgres | undefined;
let system: RunningSystem | undefined;

beforeAll(async () => {
  postgres = await startDedicatedPostgres('pg-restart');
  system = new RunningSystem({ label: 'pg-restart', serverUrl: postgres.url });
  await system.start({ partitions: 2 });
}, 300_000);

afterAll(async () => {
  try {
    await system?.stop();
  } finally {
    // Whatever happened above: the dedicated server and its data go.
    await postgres?.destroy();
  }
}, 180_000);

it('finishes every saga exactly once, with every service still running, after Postgres was stopped for 25 s mid-load', async () => {
  const running = system!;
  const server = postgres!;
  const ids = await running.createSites(SAGAS, 'pgr');
  const outcomes = (siteId: string) => running.outcomesOf(siteId);
  const started = () => ids.filter((siteId) => running.events(Topics.siteSagaEvents, { sagaId: siteId, type: 'SiteCreationStarted' }).length > 0).length;

  // Pull the plug while the sagas are spread over the steps: the first site databases
  // exist (so DDL and bootstrap sessions are busy too), most sagas are not finished.
  const provisioned = () => ids.filter((siteId) => running.events(Topics.databasesEvents, { sagaId: siteId, type: 'DatabaseProvisioned' }).length > 0).length;
  await waitFor(() => started() >= SAGAS / 2 && provisioned() >= 2, { within: '180s', what: 'sagas under way in every step', interval: 50 });
  const finishedBeforeOutage = ids.filter((siteId) => outcomes(siteId).length > 0).length;
  await server.stopImmediately();
  // The outage itself (not a wait for a result): the server is down this long.
  await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
  for (const app of APPS) expect([app, await exitOf(running, app)]).toEqual([app, 'running']);
  await server.start();
  expect(finishedBeforeOutage).toBeLessThan(SAGAS);

  await waitFor(() => ids.every((siteId) => outcomes(siteId).length > 0), {
    within: '360s',
    what: `an outcome for each of ${SAGAS} sagas`,
    interval: 500,
  }).catch(async (error: unknown) => {
    throw new Error(
      `${String(error)}\n${await describeUnfinished(
        running,
        ids.filter((siteId) => outcomes(siteId).length === 0),
      )}`,
    );
  });
  // Exactly one outcome per saga, and it is SiteCreated.
  for (const siteId of ids) expect([siteId, outcomes(siteId).map((event) => event.type)]).toEqual([siteId, ['SiteCreated']]);

  // No process died on the way, and each one says it is healthy again.
  for (const app of APPS) {
    expect([app, await exitOf(running, app)]).toEqual([app, 'running']);
    await waitFor(async () => (await fetch(`${running.service(app).url}/health`, { signal: AbortSignal.timeout(2_000) })).status === 200, {
      within: '60s',
      what: `${app} /health 200 after the outage`,
    });
  }
  // Nothing done twice: one record per site in every service, one site database and role.
  for (const [app, table] of [
    ['sites', 'sites'],
    ['storage', 'storage_records'],
    ['databases', 'database_records'],
    ['bootstrap', 'bootstrap_records'],
  ] as const) {
    const column = table === 'sites' ? 'id' : 'site_id';
    const [row] = await running.query<{ n: string; distinct_n: string }>(
      `SELECT count(*) AS n, count(DISTINCT ${column}) AS distinct_n FROM ${table} WHERE ${column} = ANY($1)`,
      [ids],
      running.serviceDatabase(app),
    );
    expect([table, Number(row?.n), Number(row?.distinct_n)]).toEqual([table, SAGAS, SAGAS]);
  }
  const siteDatabases = await running.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname = ANY($1)`, [
    ids.map((id) => `site_${id.replace(/-/g, '')}`),
  ]);
  expect(siteDatabases).toHaveLength(SAGAS);
  const [sagas] = await running.query<{ n: string }>(
    `SELECT count(*) AS n FROM saga_instances WHERE id = ANY($1) AND status = 'COMPLETED'`,
    [ids],
    running.serviceDatabase('site-saga'),
  );
  expect(Number(sagas?.n)).toBe(SAGAS);
});

/** 'running', or how the process ended. */
async function exitOf(running: RunningSystem, app: (typeof APPS)[number]): Promise<string> {
  const exit = await Promise.race([running.service(app).exited, new Promise<null>((resolve) => setImmediate(() => resolve(null)))]);
  return exit ? `exited (${exit.signal ?? `code ${exit.code}`})` : 'running';
}

/** Where each unfinished saga stands, from the admin endpoint: what a person would look at. */
async function describeUnfinished(running: RunningSystem, ids: string[]): Promise<string> {
  const lines: string[] = [];
  for (const id of ids.slice(0, 5)) {
    const { body } = await running
      .admin<{ status?: string; steps?: { name: string; state: string; attempts: number }[]; history?: { direction: string; type: string; at: string }[] }>(
        `/admin/sagas/${id}`,
      )
      .catch((error: unknown) => ({ body: { status: `admin unreachable: ${String(error)}` } as { status?: string; steps?: never; history?: never } }));
    const steps = (body.steps ?? []).map((step) => `${step.name}:${step.state}/${step.attempts}`).join(' ');
    const history = (body.history ?? [])
      .slice(-6)
      .map((entry) => `${entry.direction} ${entry.type} ${entry.at}`)
      .join(', ');
    lines.push(`${id}: ${body.status ?? '?'} [${steps}] … ${history}`);
  }
  return `${ids.length} unfinished:\n${lines.join('\n')}`;
}
