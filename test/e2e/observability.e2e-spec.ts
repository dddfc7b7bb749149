import { randomUUID } from 'node:crypto';
import { CreateSite, SiteCreated, Topics } from '@sitesaga/contracts';
import { METRICS_NOT_FROM_SERVICES, parsePromQL, shippedQueries } from '../support/observability-manifests';
import { APPS, RunningSystem } from '../support/system';
import { waitFor } from '../support/wait-for';

/**
 * The shipped alerts and dashboard (infra/observability) name only metrics and labels the
 * services really serve: all five run, a site is created and an unreadable command is
 * dead-lettered (so the labelled series exist), then every GET /metrics is read and every
 * query of alerts.yml and sitesaga.json is checked against it. Whether the queries parse and
 * the files are wired into compose: test/e2e/deploy-manifests.e2e-spec.ts.
 */
jest.setTimeout(240_000);

let system: RunningSystem;
/** metric name → label names seen on its samples (service included). */
const served = new Map<string, Set<string>>();

/** Names and label names of a Prometheus text exposition; a histogram's _bucket/_sum/_count too. */
function readExposition(text: string): void {
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type?.[1] && type[2]) {
      types.set(type[1], type[2]);
      const names = type[2] === 'histogram' ? ['_bucket', '_sum', '_count'].map((suffix) => `${type[1]}${suffix}`) : type[2] === 'summary' ? [type[1], `${type[1]}_sum`, `${type[1]}_count`] : [type[1]];
      for (const name of names) if (!served.has(name)) served.set(name, new Set());
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+/.exec(line);
    if (!sample?.[1] || line.startsWith('#')) continue;
    const labels = served.get(sample[1]) ?? new Set<string>();
    for (const pair of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels.add(pair[1]!);
    served.set(sample[1], labels);
  }
}

beforeAll(async () => {
  system = await new RunningSystem({ label: 'observability' }).start({ partitions: 1 });
  const siteId = randomUUID();
  const name = `obs-${siteId.slice(0, 8)}`;
  await system.send(CreateSite.create({ name, domain: `${name}.example.com`, adminEmail: 'owner@example.com' }, { sagaId: siteId, correlationId: siteId, causationId: null }));
  await system.waitForOutcome(siteId, [SiteCreated], '90s');
  await system.sendRaw(Topics.siteSagaCommands, 'not an envelope');
  // The orphan gauge has its series once an audit ran (periodically, or an operator's now).
  const audit = await system.admin('/admin/orphans');
  expect(audit.status).toBe(200);
  const scrapeAll = async () => {
    served.clear();
    for (const app of APPS) readExposition(await (await fetch(`${system.service(app).url}/metrics`)).text());
  };
  // The dead letter and the orchestrator's consumer lag show up on the next scrape after they happen.
  await waitFor(
    async () => {
      await scrapeAll();
      return (
        (served.get('dlq_messages_total')?.has('topic') ?? false) &&
        (served.get('kafka_consumer_lag')?.has('topic') ?? false) &&
        (served.get('sitesaga_orphans')?.has('kind') ?? false)
      );
    },
    { within: '60s', what: 'dlq_messages_total, kafka_consumer_lag and sitesaga_orphans samples on /metrics' },
  );
});

afterAll(async () => {
  await system?.stop();
});

describe('the shipped alerts and dashboard against the services\' /metrics', () => {
  it('name only metrics the services serve (or Prometheus itself)', () => {
    const missing = shippedQueries().flatMap(({ where, expr }) =>
      parsePromQL(expr)
        .metrics.filter((metric) => !served.has(metric) && !(metric in METRICS_NOT_FROM_SERVICES))
        .map((metric) => `${where}: ${metric} is on no service's /metrics`),
    );
    expect(missing).toEqual([]);
    // The sanity of the scan: every service carries its name on every series.
    expect(served.get('outbox_unsent_messages')?.has('service')).toBe(true);
    expect(served.get('saga_oldest_idle_seconds')).toBeDefined();
  });

  it('use only label names those metrics carry', () => {
    const problems = shippedQueries().flatMap(({ where, expr }) => {
      const parsed = parsePromQL(expr);
      // Every series carries `service` (the registry's default label), even a labelled
      // counter that has no sample yet.
      const available = new Set<string>(['service']);
      for (const metric of parsed.metrics) {
        const pending = METRICS_NOT_FROM_SERVICES[metric];
        for (const label of served.get(metric) ?? pending?.labels ?? []) available.add(label);
        if (pending && served.has(metric)) {
          // Served now (the branch landed): it must carry the labels the queries were written for.
          for (const label of pending.labels) if (!served.get(metric)?.has(label)) return [`${where}: ${metric} is served without its label ${label}`];
        }
      }
      return parsed.labels.filter((label) => !available.has(label)).map((label) => `${where}: no metric of "${expr}" carries the label ${label} (they carry ${[...available].sort().join(', ')})`);
    });
    expect(problems).toEqual([]);
  });
});
