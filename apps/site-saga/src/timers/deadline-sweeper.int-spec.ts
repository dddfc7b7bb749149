import { ReserveSite } from '@sitesaga/contracts';
import { CreateMessagingTables1732400000000, type UnitOfWork } from '@sitesaga/messaging';
import { createLogger } from '@sitesaga/service';
import { SAGA_ENTITIES, SagaEngine, SagaStore, type SagaState } from '@sitesaga/saga';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { DataSource } from 'typeorm';
import { freshDatabase } from '../../../../test/support/fresh-database';
import { SITE_SAGA_MIGRATIONS } from '../persistence/site-saga-migrations';
import { createSiteSaga } from '../sagas/create-site.saga';
import { deleteSiteSaga } from '../sagas/delete-site.saga';
import { sagaNeedsAttentionOnQuarantine } from '../sagas/quarantine';
import type { SagaChanges } from '../sagas/saga-changes';
import type { PlumbingMonitor } from './plumbing-monitor';
import { DeadlineSweeper } from './deadline-sweeper';
import { testUnitOfWork } from '../testing/test-unit-of-work';

jest.setTimeout(60_000);

let database: Awaited<ReturnType<typeof freshDatabase>>;
let dataSource: DataSource;
let unitOfWork: UnitOfWork;
let engine: SagaEngine;
/** The engine's clock: moved forward instead of waiting. */
let now = new Date();
const logger = createLogger('site-saga', { level: 'silent', destination: new Writable({ write: (_chunk, _encoding, done) => done() }) });
const changes = { committed: () => undefined } as unknown as SagaChanges;

/** Plumbing that works (seen just now), or has not since `downSince`. */
const broker = {
  up: true,
  downSince: 0,
  isUp: () => broker.up,
  get lastWorkingAt() {
    return broker.up ? Date.now() : broker.downSince;
  },
  start: () => undefined,
  stop: async () => undefined,
  reportDatabaseFailure: () => undefined,
  outageWithin: () => !broker.up,
};
const sweepers: DeadlineSweeper[] = [];
const newSweeper = (): DeadlineSweeper => {
  const sweeper = new DeadlineSweeper(engine, unitOfWork, changes, dataSource, logger, 50, broker as unknown as PlumbingMonitor, database.url);
  sweepers.push(sweeper);
  return sweeper;
};

beforeAll(async () => {
  database = await freshDatabase('deadline_sweeper_it');
  dataSource = new DataSource({
    type: 'postgres',
    url: database.url,
    entities: [...SAGA_ENTITIES],
    migrations: [CreateMessagingTables1732400000000, ...SITE_SAGA_MIGRATIONS],
    logging: false,
  });
  await dataSource.initialize();
  await dataSource.runMigrations();
  unitOfWork = testUnitOfWork(dataSource, logger);
  engine = new SagaEngine([createSiteSaga, deleteSiteSaga], new SagaStore({ outboxTable: 'outbox_messages' }), {
    clock: () => now,
    onQuarantined: sagaNeedsAttentionOnQuarantine,
  });
});

afterAll(async () => {
  for (const sweeper of sweepers) await sweeper.beforeApplicationShutdown();
  await dataSource?.destroy();
  await database?.drop();
});

beforeEach(async () => {
  now = new Date();
  broker.up = true;
  // Each test sees only its own deadlines.
  await dataSource.query(`UPDATE saga_steps SET deadline_at = NULL, deadline_kind = NULL`);
});

/** Starts a create-site saga now; its ReserveSite command reached the broker at once (`agoMs` before the wall clock's now). */
async function startCreateSite(agoMs = 0): Promise<string> {
  const sagaId = randomUUID();
  const name = `site-${sagaId.slice(0, 8)}`;
  await unitOfWork.run(null, (tx) =>
    engine.start(tx, createSiteSaga, {
      sagaId,
      data: { siteId: sagaId, name, domain: `${name}.example.com`, adminEmail: 'owner@example.com' },
      cause: { id: `request-${sagaId}`, type: 'CreateSite', correlationId: `request-${sagaId}` },
    }),
  );
  await dataSource.query(
    `UPDATE outbox_messages SET created_at = created_at - make_interval(secs => $2), sent_at = created_at - make_interval(secs => $2) WHERE message_key = $1`,
    [sagaId, agoMs / 1000],
  );
  return sagaId;
}

/** A saga row no definition can run, waiting on a deadline that passed an hour ago. */
async function insertUnrunnable(type: string, stepName: string): Promise<string> {
  const id = randomUUID();
  const passed = new Date(now.getTime() - 3_600_000);
  const saga: SagaState = {
    id,
    type,
    status: 'RUNNING',
    version: 1,
    definitionVersion: 1,
    waitingFor: null,
    data: { siteId: id },
    failure: null,
    correlationId: id,
    searchKey: null,
    createdAt: passed,
    updatedAt: passed,
    steps: [
      {
        name: stepName,
        position: 0,
        state: 'RUNNING',
        attempts: 1,
        compensationAttempts: 0,
        mayHaveTakenEffect: false,
        deadlineAt: passed,
        deadlineKind: 'reply',
        lastMessageId: `gone-${id}`,
        startedAt: passed,
        finishedAt: null,
        error: null,
      },
    ],
  };
  await engine.store.insert(dataSource.manager, saga);
  return id;
}

const load = async (id: string) => {
  const saga = await engine.store.load(dataSource.manager, id);
  if (!saga) throw new Error(`no saga ${id}`);
  return saga;
};
const published = async (sagaId: string, type: string) =>
  ((await dataSource.query(`SELECT value FROM outbox_messages WHERE message_key = $1 AND type = $2`, [sagaId, type])) as { value: string }[]).map(
    (row) => JSON.parse(row.value) as { payload: Record<string, unknown> },
  );

describe('DeadlineSweeper against Postgres', () => {
  it('sets aside a saga of an unknown type and one with an unknown step, and still fires the good deadline behind them', async () => {
    const vanished = await insertUnrunnable('VanishedSaga', 'SomeStep');
    const renamed = await insertUnrunnable('CreateSite', 'NoSuchStep');
    const good = await startCreateSite();
    now = new Date(now.getTime() + 31_000); // ReserveSite's 30 s passed

    const sweeper = newSweeper();
    const fired = await sweeper.round();

    expect(sweeper.isLeader).toBe(true);
    expect(fired).toBe(1);
    // The good saga's deadline fired: no reply within 30 s, so it backs off before re-sending.
    expect((await load(good)).steps.find((step) => step.name === 'ReserveSite')).toMatchObject({
      state: 'RUNNING',
      deadlineKind: 'resend',
      error: 'no reply within 30000 ms',
    });
    for (const [id, type, step] of [
      [vanished, 'VanishedSaga', 'SomeStep'],
      [renamed, 'CreateSite', 'NoSuchStep'],
    ] as const) {
      const saga = await load(id);
      expect(saga).toMatchObject({ status: 'FAILED', failure: { failedStep: step, cause: 'quarantined' } });
      expect(saga.steps.every((row) => row.deadlineAt === null)).toBe(true);
      expect(saga.steps[0]?.error).toMatch(/^quarantined: /);
      const [attention] = await published(id, 'SagaNeedsAttention');
      expect(attention?.payload).toMatchObject({ siteId: id, sagaType: type, step });
    }
    expect((await published(vanished, 'SagaNeedsAttention'))[0]?.payload.reason).toMatch(/no saga definition of type VanishedSaga/);

    // Set aside once: the next round finds nothing of theirs to do.
    expect(await sweeper.round()).toBe(0);
    expect(await published(vanished, 'SagaNeedsAttention')).toHaveLength(1);
  });

  it('fires no deadline while the broker does not answer, then moves them by the outage once', async () => {
    const sagaId = await startCreateSite(130_000); // out before the broker stopped answering
    const deadline = (await load(sagaId)).steps.find((step) => step.name === 'ReserveSite')?.deadlineAt;
    const sweeper = sweepers[0] ?? newSweeper();

    broker.up = false;
    broker.downSince = Date.now() - 120_000; // out for two minutes
    now = new Date(now.getTime() + 60_000); // the deadline passed during the outage
    expect(await sweeper.round()).toBe(0);
    expect((await load(sagaId)).steps.find((step) => step.name === 'ReserveSite')).toMatchObject({ attempts: 1, deadlineKind: 'reply' });

    broker.up = true;
    expect(await sweeper.round()).toBe(0);
    const moved = (await load(sagaId)).steps.find((step) => step.name === 'ReserveSite');
    expect(moved).toMatchObject({ state: 'RUNNING', attempts: 1, deadlineKind: 'reply', error: null });
    expect(moved!.deadlineAt!.getTime() - deadline!.getTime()).toBeGreaterThanOrEqual(120_000);
    expect(moved!.deadlineAt!.getTime() - deadline!.getTime()).toBeLessThan(120_000 + 30_000 + 30_000); // the outage, the recovery margin, slack

    // Only once: a further round leaves it where it is.
    await sweeper.round();
    expect((await load(sagaId)).steps.find((step) => step.name === 'ReserveSite')?.deadlineAt).toEqual(moved!.deadlineAt);
  });

  it('lets one replica sweep at a time, and another take over when it stops', async () => {
    const first = sweepers[0] ?? newSweeper();
    await first.round();
    const second = newSweeper();

    await second.round();
    expect(first.isLeader).toBe(true);
    expect(second.isLeader).toBe(false);

    await first.beforeApplicationShutdown();
    await second.round();
    expect(second.isLeader).toBe(true);
  });

  it('holds the deadlines of a saga whose definition version is not deployed, and handles its parked reply once it is again', async () => {
    const sagaId = await startCreateSite();
    // Started on a version 2 that this orchestrator does not run (docs/adr/0007).
    await dataSource.query(`UPDATE saga_instances SET definition_version = 2 WHERE id = $1`, [sagaId]);
    now = new Date(now.getTime() + 31_000); // ReserveSite's 30 s passed
    const sweeper = newSweeper();

    await sweeper.sweep();
    const held = await load(sagaId);
    expect(held).toMatchObject({ status: 'RUNNING', failure: null });
    expect(held.steps.find((step) => step.name === 'ReserveSite')).toMatchObject({ state: 'RUNNING', deadlineKind: 'reply', attempts: 1 });

    const [reserve] = (await dataSource.query(`SELECT message_id FROM outbox_messages WHERE message_key = $1 AND type = 'ReserveSite'`, [sagaId])) as {
      message_id: string;
    }[];
    const name = `site-${sagaId.slice(0, 8)}`;
    const reply = ReserveSite.succeeded.create(
      { siteId: sagaId, name, domain: `${name}.example.com` },
      { sagaId, correlationId: `request-${sagaId}`, causationId: reserve!.message_id },
    );
    expect((await unitOfWork.run(reply, (tx) => engine.handleReply(tx, reply))).status).toBe('done');
    expect((await load(sagaId)).steps.find((step) => step.name === 'ReserveSite')?.state).toBe('RUNNING'); // parked, not applied
    expect(await sweeper.handleParked()).toBe(0); // still not deployed here

    // The next deploy runs versions 1 and 2 of CreateSite: the parked reply moves the saga on.
    const redeployed = new SagaEngine([createSiteSaga, { ...createSiteSaga, version: 2 }, deleteSiteSaga], new SagaStore({ outboxTable: 'outbox_messages' }), {
      clock: () => now,
    });
    const next = new DeadlineSweeper(redeployed, unitOfWork, changes, dataSource, logger, 50, broker as unknown as PlumbingMonitor, database.url);
    sweepers.push(next);
    expect(await next.handleParked()).toBe(1);
    const moved = await load(sagaId);
    expect(moved.steps.map((step) => `${step.name}:${step.state}`)).toEqual(
      expect.arrayContaining(['ReserveSite:SUCCEEDED', 'ProvisionStorage:RUNNING', 'ProvisionDatabase:RUNNING']),
    );
    expect(await published(sagaId, 'ProvisionStorage')).toHaveLength(1);
    expect(await next.handleParked()).toBe(0);
  });

  it('fires a deadline on time while commits of its own process keep cutting its sleep short', async () => {
    for (const sweeper of sweepers) await sweeper.beforeApplicationShutdown(); // the loop below leads
    const tick = setInterval(() => (now = new Date()), 5); // the engine's clock is the wall clock here
    const listeners = new Set<() => void>();
    const live = {
      committed: () => listeners.forEach((listener) => listener()),
      onCommitted: (listener: () => void) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    } as unknown as SagaChanges;
    const sweeper = new DeadlineSweeper(engine, unitOfWork, live, dataSource, logger, 50, broker as unknown as PlumbingMonitor, database.url);
    sweepers.push(sweeper);
    const busy = setInterval(() => live.committed('another saga'), 10); // a commit here every 10 ms
    try {
      const sagaId = await startCreateSite();
      sweeper.onApplicationBootstrap();
      // It falls asleep with nothing due for 30 s; then a deadline is set 400 ms ahead.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const dueAt = Date.now() + 400;
      await dataSource.query(`UPDATE saga_steps SET deadline_at = $2 WHERE saga_id = $1 AND name = 'ReserveSite'`, [sagaId, new Date(dueAt)]);
      live.committed(sagaId);
      // Woken every 10 ms, it peeks at the earliest deadline, and runs a round once it is due.
      const deadline = Date.now() + 5_000;
      while ((await load(sagaId)).steps.find((step) => step.name === 'ReserveSite')?.attempts !== 2) {
        if (Date.now() > deadline) throw new Error('the deadline did not fire within 5 s while commits kept waking the sweeper');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // Within the deadline plus the sweep interval (50 ms) and some slack for a loaded machine.
      expect(Date.now() - dueAt).toBeLessThan(1_500);
    } finally {
      clearInterval(busy);
      clearInterval(tick);
      await sweeper.beforeApplicationShutdown();
    }
  });
});
