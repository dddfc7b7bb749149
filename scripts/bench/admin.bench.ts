/**
 * The admin endpoint against a big history: seeds N sagas (default 1,000,000, with their
 * steps, history and inbox rows) into a running orchestrator's database, then times the
 * admin API over real HTTP, one request at a time, and prints p50/p99 per route (each route
 * warmed by 10 unmeasured requests first). Asserts nothing; the issue's target is list
 * p99 ≤ 50 ms at 1,000,000 rows.
 *
 *   pnpm bench:admin                      1,000,000 sagas, 200 requests per route
 *   options: --sagas N --requests N
 *            --json   also print one machine-readable line (`ADMIN_BENCH {...}`), read by
 *                     `pnpm bench:compare`
 *
 * Uses KAFKA_BROKERS and DATABASE_URL when they answer, else starts the local ones.
 * Services must be built (pnpm build). The seeded database is dropped at the end.
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { RunningSystem } from '../../test/support/system';
import { withLocalInfrastructure } from './local-infrastructure';
import { seedSagas } from './seed-sagas';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: { sagas: { type: 'string', default: '1000000' }, requests: { type: 'string', default: '200' }, json: { type: 'boolean', default: false } },
});
const sagas = Number(values.sagas);
const requests = Number(values.requests);

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function main(): Promise<void> {
  const system = new RunningSystem({ label: 'bench-admin', env: { 'site-saga': { LOG_LEVEL: 'warn' } } });
  await system.start({ apps: ['site-saga'] });
  try {
    const database = new URL(system.serverUrl);
    database.pathname = `/${system.serviceDatabase('site-saga')}`;
    const seeding = Date.now();
    console.error(`seeding ${sagas} sagas into ${database.pathname.slice(1)}…`);
    await seedSagas(database.toString(), sagas, (line) => console.error(line));
    console.log(`seeded ${sagas} sagas (5 steps, 2 history rows and an inbox row each) in ${((Date.now() - seeding) / 1000).toFixed(0)} s`);

    // A cursor deep in the list: the 20th page of 50.
    let deepCursor: string | null = null;
    for (let page = 0; page < 20; page++) {
      const response: { body: { nextCursor: string | null } } = await system.admin(`/admin/sagas?limit=50${deepCursor ? `&cursor=${deepCursor}` : ''}`);
      deepCursor = response.body.nextCursor;
    }
    const ids = (await system.query<{ id: string }>(`SELECT id::text AS id FROM saga_instances TABLESAMPLE SYSTEM (1) LIMIT 200`, [], system.serviceDatabase('site-saga'))).map((row) => row.id);

    const routes: [string, (i: number) => string][] = [
      ['list, newest 50', () => '/admin/sagas?limit=50'],
      ['list, status=FAILED', () => '/admin/sagas?limit=50&status=FAILED'],
      ['list, status=RUNNING', () => '/admin/sagas?limit=50&status=RUNNING'],
      ['list, type=DeleteSite', () => '/admin/sagas?limit=50&type=DeleteSite'],
      ['list, by name (search key)', (i) => `/admin/sagas?limit=50&siteName=seed-${(i * 4_999) % sagas}`],
      ['list, 20th page (cursor)', () => `/admin/sagas?limit=50&cursor=${deepCursor}`],
      ['saga detail', (i) => `/admin/sagas/${ids[i % ids.length]}`],
      ['stats', () => '/admin/stats'],
    ];
    // Each route is asked a few times before it is timed: the first requests of a fresh
    // process warm its pool and query plans, and the first reads of a route's index pages
    // come from disk; an admin endpoint in service has neither cold start.
    const WARM_UP = 10;
    for (const [, path] of routes) for (let i = 0; i < WARM_UP; i++) await system.admin(path(i));
    console.log(`admin API over HTTP with ${sagas} sagas, ${requests} requests per route (after ${WARM_UP} unmeasured ones), one at a time:`);
    const figures: Record<string, { p50_ms: number; p99_ms: number }> = {};
    for (const [label, path] of routes) {
      const timings: number[] = [];
      let failures = 0;
      for (let i = 0; i < requests; i++) {
        const started = performance.now();
        const response = await system.admin(path(i));
        timings.push(performance.now() - started);
        if (response.status !== 200) failures += 1;
      }
      const sorted = timings.sort((a, b) => a - b);
      figures[label] = { p50_ms: Math.round(percentile(sorted, 50) * 10) / 10, p99_ms: Math.round(percentile(sorted, 99) * 10) / 10 };
      console.log(
        `  ${label.padEnd(28)} p50 ${percentile(sorted, 50).toFixed(1).padStart(6)} ms   p99 ${percentile(sorted, 99).toFixed(1).padStart(6)} ms${failures ? `   ${failures} not 200` : ''}`,
      );
    }
    if (values.json) {
      const lists = Object.entries(figures).filter(([label]) => label.startsWith('list'));
      const line = { sagas, requests, list_p99_ms: Math.max(...lists.map(([, figure]) => figure.p99_ms)), routes: figures };
      console.log(`ADMIN_BENCH ${JSON.stringify(line)}`);
    }
  } finally {
    await system.stop();
  }
}

void withLocalInfrastructure(main).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
