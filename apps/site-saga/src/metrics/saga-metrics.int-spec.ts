import {
  ActivateSite,
  BootstrapSite,
  causedBy,
  DeprovisionStorage,
  DropDatabase,
  type Envelope,
  ProvisionDatabase,
  ProvisionStorage,
  ReleaseSite,
  ReserveSite,
} from '@sitesaga/contracts';
import { CreateMessagingTables1732400000000, type UnitOfWork } from '@sitesaga/messaging';
import { createLogger } from '@sitesaga/service';
import { SAGA_ENTITIES, SAGA_MIGRATIONS, SagaEngine } from '@sitesaga/saga';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { SEALED_CREDENTIALS, testSaga } from '../admin/testing/test-site-saga';
import { freshDatabase } from '../../../../test/support/fresh-database';
import { SagaFixtures } from '../admin/testing/admin-test-app';
import type { SagaStream } from '../admin/saga-stream';
import { MeasuredSagaStore } from './measured-saga-store';
import { SagaMetrics } from './saga-metrics';
import { testUnitOfWork } from '../testing/test-unit-of-work';

jest.setTimeout(60_000);

let database: Awaited<ReturnType<typeof freshDatabase>>;
let dataSource: DataSource;
let registry: Registry;
let metrics: SagaMetrics;
let engine: SagaEngine;
let unitOfWork: UnitOfWork;
let fixtures: SagaFixtures;
/** What SagaChanges does after each commit; switched off to play a commit nobody announces (the admin API's). */
let announce = true;

beforeAll(async () => {
  database = await freshDatabase('saga_metrics_it');
  dataSource = new DataSource({
    type: 'postgres',
    url: database.url,
    entities: [...SAGA_ENTITIES],
    migrations: [CreateMessagingTables1732400000000, ...SAGA_MIGRATIONS],
    logging: false,
  });
  await dataSource.initialize();
  await dataSource.runMigrations();
  registry = new Registry();
  metrics = new SagaMetrics(registry, dataSource, { sagaTypes: [testSaga.type, 'NeverStarted'], reuseMs: 0 });
  engine = new SagaEngine([testSaga], new MeasuredSagaStore(metrics), { timeScale: 0.01 });
  const logger = createLogger('site-saga', { level: 'silent', destination: new Writable({ write: (_chunk, _encoding, done) => done() }) });
  unitOfWork = testUnitOfWork(dataSource, logger);
  const changes = { publish: (sagaId: string) => (announce ? metrics.committed(sagaId) : undefined) } as unknown as SagaStream;
  fixtures = new SagaFixtures(engine, unitOfWork, changes, dataSource);
});

afterAll(async () => {
  await dataSource?.destroy();
  await database?.drop();
});

/** The value of one sample line of the exposition, or undefined when absent. */
async function sample(name: string, labels: Record<string, string>): Promise<number | undefined> {
  const text = await registry.metrics();
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = match[2]!.split(',');
    if (wanted.every((pair) => present.includes(pair)) && present.length === wanted.length) return Number(match[3]);
  }
  return undefined;
}

const stepCount = (step: string, outcome: string) => sample('saga_step_duration_seconds_count', { saga_type: testSaga.type, step, outcome });

async function complete(name: string): Promise<string> {
  const id = await fixtures.start(name);
  await fixtures.succeed(id, ReserveSite, { name, domain: `${name}.example.com` });
  await fixtures.succeed(id, ProvisionStorage, { path: `/srv/sites/${name}` });
  await fixtures.succeed(id, ProvisionDatabase, { databaseName: `site_${name}`, roleName: `site_${name}`, credentials: SEALED_CREDENTIALS });
  await fixtures.succeed(id, BootstrapSite, { adminUser: 'admin' });
  await fixtures.succeed(id, ActivateSite, { url: `https://${name}.example.com` });
  return id;
}

async function sentCommand(sagaId: string, type: string): Promise<Envelope> {
  const [row] = (await dataSource.query(`SELECT value FROM outbox_messages WHERE message_key = $1 AND type = $2 ORDER BY position DESC LIMIT 1`, [sagaId, type])) as {
    value: string;
  }[];
  if (!row) throw new Error(`saga ${sagaId} sent no ${type}`);
  return JSON.parse(row.value) as Envelope;
}

describe('saga metrics', () => {
  it('counts sagas by type and status from saga_instances, zeros included', async () => {
    await complete('metrics-done');
    const compensated = await fixtures.start('metrics-refused');
    await fixtures.succeed(compensated, ReserveSite, { name: 'metrics-refused', domain: 'metrics-refused.example.com' });
    await fixtures.fail(compensated, ProvisionStorage, 'business', 'quota exceeded');
    await fixtures.succeed(compensated, DropDatabase);
    await fixtures.succeed(compensated, ReleaseSite);
    const running = await fixtures.start('metrics-running');

    expect(await sample('sagas', { type: testSaga.type, status: 'COMPLETED' })).toBe(1);
    expect(await sample('sagas', { type: testSaga.type, status: 'COMPENSATED' })).toBe(1);
    expect(await sample('sagas', { type: testSaga.type, status: 'RUNNING' })).toBe(1);
    expect(await sample('sagas', { type: testSaga.type, status: 'FAILED' })).toBe(0);
    expect(await sample('sagas', { type: 'NeverStarted', status: 'RUNNING' })).toBe(0);

    // A saga under way that has not changed for an hour is stuck: the oldest idle time says so.
    expect(await sample('saga_oldest_idle_seconds', { type: testSaga.type, status: 'RUNNING' })).toBeLessThan(600);
    await dataSource.query(`UPDATE saga_instances SET updated_at = now() - interval '1 hour' WHERE id = $1`, [running]);
    expect(await sample('saga_oldest_idle_seconds', { type: testSaga.type, status: 'RUNNING' })).toBeGreaterThanOrEqual(3600);
    expect(await sample('saga_oldest_idle_seconds', { type: testSaga.type, status: 'COMPENSATING' })).toBe(0);
    // Ended sagas are never idle, however old.
    expect(await sample('saga_oldest_idle_seconds', { type: testSaga.type, status: 'COMPLETED' })).toBeUndefined();
  });

  it('observes each finished step and saga once, with its outcome', async () => {
    for (const step of ['ReserveSite', 'ProvisionStorage', 'ProvisionDatabase', 'BootstrapSite', 'ActivateSite']) {
      // ReserveSite: the completed saga and the refused one.
      expect({ step, count: await stepCount(step, 'SUCCEEDED') }).toEqual({ step, count: step === 'ReserveSite' ? 2 : 1 });
    }
    // The refused saga: storage refused, its running sibling given up, both undone in reverse.
    expect(await stepCount('ProvisionStorage', 'FAILED')).toBe(1);
    expect(await stepCount('ProvisionDatabase', 'FAILED')).toBe(1);
    expect(await stepCount('ProvisionDatabase', 'COMPENSATED')).toBe(1);
    expect(await stepCount('ReserveSite', 'COMPENSATED')).toBe(1);
    expect(await sample('saga_duration_seconds_count', { type: testSaga.type, status: 'COMPLETED' })).toBe(1);
    expect(await sample('saga_duration_seconds_count', { type: testSaga.type, status: 'COMPENSATED' })).toBe(1);
    expect(await sample('saga_step_duration_seconds_bucket', { saga_type: testSaga.type, step: 'ActivateSite', outcome: 'SUCCEEDED', le: '+Inf' })).toBe(1);
  });

  it('ignores a change whose transaction rolled back', async () => {
    const id = await fixtures.start('metrics-rollback');
    const reply = ReserveSite.succeeded.create({ siteId: id, name: 'metrics-rollback', domain: 'metrics-rollback.example.com' }, causedBy(await sentCommand(id, 'ReserveSite')));
    await expect(
      unitOfWork.run(null, async (tx) => {
        await engine.handleReply(tx, reply);
        throw new Error('the commit never happens');
      }),
    ).rejects.toThrow('the commit never happens');
    expect(await stepCount('ReserveSite', 'SUCCEEDED')).toBe(2);

    await fixtures.succeed(id, ReserveSite, { name: 'metrics-rollback', domain: 'metrics-rollback.example.com' });
    expect(await stepCount('ReserveSite', 'SUCCEEDED')).toBe(3);
  });

  it('observes an unannounced commit (an operator abort) once the saga moves on from it', async () => {
    const id = await fixtures.start('metrics-abort');
    await fixtures.succeed(id, ReserveSite, { name: 'metrics-abort', domain: 'metrics-abort.example.com' });
    announce = false;
    await fixtures.abort(id, 'by a test');
    announce = true;
    expect(await stepCount('ProvisionStorage', 'FAILED')).toBe(1);

    await fixtures.succeed(id, DeprovisionStorage);
    expect(await stepCount('ProvisionStorage', 'FAILED')).toBe(2);
    expect(await stepCount('ProvisionDatabase', 'FAILED')).toBe(2);
    expect(await stepCount('ProvisionStorage', 'COMPENSATED')).toBe(1);

    await fixtures.succeed(id, DropDatabase);
    await fixtures.succeed(id, ReleaseSite);
    expect(await stepCount('ReserveSite', 'COMPENSATED')).toBe(2);
    expect(await sample('saga_duration_seconds_count', { type: testSaga.type, status: 'COMPENSATED' })).toBe(2);
    expect(await sample('sagas', { type: testSaga.type, status: 'COMPENSATED' })).toBe(2);
  });
});
