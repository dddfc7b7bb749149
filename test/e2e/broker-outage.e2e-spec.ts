import * as fs from 'node:fs';
import * as path from 'node:path';
import { SiteCreated, Topics } from '@sitesaga/contracts';
import { REPO_ROOT, startKafka, type KafkaBroker } from '../../scripts/local/kafka-broker';
import { RunningSystem } from '../support/system';
import { waitFor } from '../support/wait-for';

/**
 * An outage of the broker delays sagas, never fails them. Sagas in flight, the broker's
 * JVM frozen (SIGSTOP) for longer than the longest retry schedule of any step, then
 * thawed: every saga ends SiteCreated, each effect made once. Deadlines measure the
 * participant, not the plumbing.
 *
 * The broker is this file's own (never the shared one): freezing it must not stop anyone
 * else. With SAGA_TIME_SCALE 0.2 a step's whole schedule (5 sends, timeouts and backoffs)
 * is ≈ 63 s for ProvisionDatabase (12 s timeout) and ≈ 33 s for the others (6 s); the
 * freeze lasts 75 s, so counting deadlines through it would fail every waiting saga
 * (on main, not every saga even reached an outcome within 150 s of the thaw).
 */
jest.setTimeout(300_000);

/** OUTAGE_FREEZE_MS: another length, e.g. the 200 s, or 0 for a baseline of re-sends without an outage. */
const FREEZE_MS = Number(process.env.OUTAGE_FREEZE_MS ?? 75_000);
const SITES = 20;

let broker: KafkaBroker | null = null;
let brokerPid: number | null = null;
let frozen = false;
let system: RunningSystem;
const previousBrokers = process.env.KAFKA_BROKERS;

/** The JVM of a broker startKafka launched: .local/kafka/<port>/kafka.pid. */
function pidOf(started: KafkaBroker): number {
  const port = Number(started.brokers.split(',')[0]!.split(':').pop());
  const pid = Number(fs.readFileSync(path.join(REPO_ROOT, '.local', 'kafka', String(port), 'kafka.pid'), 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no broker pid for ${started.brokers}`);
  return pid;
}

function signal(name: 'SIGSTOP' | 'SIGCONT'): void {
  if (brokerPid === null) return;
  process.kill(brokerPid, name);
  frozen = name === 'SIGSTOP';
}

beforeAll(async () => {
  broker = await startKafka({ port: 28092, exclusive: true, existingBrokers: '', log: (line) => console.log(`[outage-kafka] ${line}`) });
  if (!broker.startedHere) throw new Error('expected a broker of this test’s own');
  brokerPid = pidOf(broker);
  // RunningSystem and its services read the brokers from the environment (this worker's only).
  process.env.KAFKA_BROKERS = broker.brokers;
  system = new RunningSystem({ label: 'outage', env: { 'site-saga': { SAGA_TIME_SCALE: '0.2' } } });
  await system.start();
}, 240_000);

afterAll(async () => {
  // Whatever happened, the broker must not stay frozen, and it must go.
  if (frozen) signal('SIGCONT');
  await system?.stop().catch((error: unknown) => console.error('stopping the system failed', error));
  await broker?.stop().catch((error: unknown) => console.error('stopping the outage broker failed', error));
  process.env.KAFKA_BROKERS = previousBrokers;
}, 120_000);

const outcomesOf = (siteId: string) => system.outcomesOf(siteId);

describe('a broker outage', () => {
  it('delays sagas in flight but fails none: every site is created once after the broker comes back', async () => {
    const ids = await system.createSites(SITES, 'outage');
    // Freeze while they are under way: some reserved, none finished.
    await waitFor(() => system.events(Topics.sitesEvents, { type: 'SiteReserved' }).filter((event) => ids.includes(event.sagaId)).length >= 3, {
      within: '60s',
      what: 'sites being reserved',
      interval: 50,
    });
    signal('SIGSTOP');
    const frozenAt = Date.now();
    const finishedBeforeFreeze = ids.filter((siteId) => outcomesOf(siteId).length > 0).length;

    // Long enough for every step deadline of the scaled schedule to run out several times.
    await new Promise((resolve) => setTimeout(resolve, FREEZE_MS));
    signal('SIGCONT');
    const thawedAt = Date.now();

    await waitFor(() => ids.every((siteId) => outcomesOf(siteId).length > 0), { within: '150s', what: `an outcome for each of ${SITES} sagas`, interval: 500 });

    expect(finishedBeforeFreeze).toBeLessThan(SITES); // the outage did hit sagas in flight
    for (const siteId of ids) {
      expect([siteId, [...new Set(outcomesOf(siteId).map((event) => event.type))]]).toEqual([siteId, ['SiteCreated']]);
      expect(fs.existsSync(path.join(system.storageRoot, siteId, 'wp-content'))).toBe(true);
    }
    const { body: failed } = await system.admin<{ items: { id: string }[] }>(`/admin/sagas?status=FAILED&limit=100`);
    const { body: compensated } = await system.admin<{ items: { id: string }[] }>(`/admin/sagas?status=COMPENSATED&limit=100`);
    expect([...failed.items, ...compensated.items].filter((saga) => ids.includes(saga.id))).toEqual([]);
    // Each effect once: one site record, one database and one role per site, one admin user in each.
    const records = await system.query<{ n: string }>(
      `SELECT count(*) AS n FROM sites WHERE id = ANY($1) AND status = 'ACTIVE'`,
      [ids],
      system.serviceDatabase('sites'),
    );
    expect(Number(records[0]?.n)).toBe(SITES);
    const names = ids.map((id) => `site_${id.replace(/-/g, '')}`);
    expect(await system.query(`SELECT datname FROM pg_database WHERE datname = ANY($1)`, [names])).toHaveLength(SITES);
    expect(await system.query(`SELECT rolname FROM pg_roles WHERE rolname = ANY($1)`, [names])).toHaveLength(SITES);

    // For the record: how much of each saga's step budget the outage cost, and when deadlines fired.
    const details = await Promise.all(
      ids.map(
        async (siteId) => (await system.admin<{ steps: { attempts: number }[]; history: { type: string; at: string }[] }>(`/admin/sagas/${siteId}`)).body,
      ),
    );
    const attempts = details.flatMap((detail) => detail.steps.map((step) => step.attempts));
    const fired = details.flatMap((detail) => detail.history.filter((entry) => entry.type === 'DeadlinePassed').map((entry) => Date.parse(entry.at)));
    console.log(
      `broker frozen ${FREEZE_MS / 1000} s with ${SITES - finishedBeforeFreeze} of ${SITES} sagas in flight; sends per step: max ${Math.max(...attempts)}, ` +
        `steps sent more than once: ${attempts.filter((count) => count > 1).length}; deadlines fired before the freeze: ${fired.filter((at) => at < frozenAt).length}, ` +
        `during it: ${fired.filter((at) => at >= frozenAt && at < thawedAt).length}, after it: ${fired.filter((at) => at >= thawedAt).length}`,
    );
  });
});
