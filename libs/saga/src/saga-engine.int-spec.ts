import { ActivateSite, BootstrapSite, causedBy, SagaNeedsAttention, DeprovisionStorage, DropDatabase, type Envelope, ProvisionDatabase, ProvisionStorage, ReleaseSite, ReserveSite } from '@sitesaga/contracts';
import type { DataSource } from 'typeorm';
import { type AnyCommand, emit } from './define-saga';
import { SagaNotFound, SagaTransitionRefused } from './errors';
import { SagaEngine, type SagaTransaction } from './saga-engine';
import { scratchDatabase } from './testing/scratch-database';
import { SEALED_CREDENTIALS, type TestSiteData, testSaga } from './testing/test-saga';

let sequence = 0;
const newSagaId = () => `bbbbbbbb-0000-4000-8000-${String(++sequence).padStart(12, '0')}`;
const siteOf = (siteId: string): TestSiteData => ({ siteId, name: `blog-${sequence}`, domain: `blog-${sequence}.example.com`, adminEmail: 'owner@example.com' });

describe('SagaEngine against Postgres', () => {
  let database: Awaited<ReturnType<typeof scratchDatabase>>;
  let dataSource: DataSource;
  let now = new Date('2024-11-23T10:00:00.000Z');
  const engine = new SagaEngine([testSaga], undefined, {
    timeScale: 0.001,
    clock: () => now,
    onQuarantined: (saga, quarantine) => [emit(SagaNeedsAttention, { siteId: saga.id, sagaType: saga.type, step: quarantine.step ?? '(saga)', reason: quarantine.reason })],
  });
  const published: Envelope[] = [];

  beforeAll(async () => {
    database = await scratchDatabase();
    dataSource = database.dataSource;
  });
  afterAll(async () => {
    await database?.drop();
  });

  /** Runs `work` in one transaction like libs/messaging's unit of work; returns what it published and the statements it sent. */
  async function inTransaction<T>(work: (tx: SagaTransaction) => Promise<T>): Promise<{ result: T; sent: string[]; statements: number }> {
    const pending: Envelope[] = [];
    database.counter.statements = [];
    const result = await dataSource.transaction((manager) => work({ manager, publish: (envelope) => pending.push(envelope) }));
    published.push(...pending);
    return { result, sent: pending.map((envelope) => envelope.type), statements: database.counter.statements.length };
  }

  const lastSent = (sagaId: string, type: string): Envelope => {
    const envelope = [...published].reverse().find((candidate) => candidate.sagaId === sagaId && candidate.type === type);
    if (!envelope) throw new Error(`${type} not published for ${sagaId}`);
    return envelope;
  };

  const reply = (sagaId: string, command: AnyCommand, outcome: 'succeeded' | 'failed', payload: Record<string, unknown> = {}) =>
    inTransaction((tx) => engine.handleReply(tx, command[outcome].create({ siteId: sagaId, ...payload } as never, causedBy(lastSent(sagaId, command.type)))));

  const start = (sagaId: string) =>
    inTransaction((tx) => engine.start(tx, testSaga, { sagaId, data: siteOf(sagaId), cause: { id: `request-${sagaId}`, type: 'CreateSite', correlationId: `request-${sagaId}` } }));

  const load = (sagaId: string) => engine.store.load<TestSiteData>(dataSource.manager, sagaId);

  it('runs a saga to COMPLETED with two statements per event', async () => {
    const sagaId = newSagaId();
    const started = await start(sagaId);
    expect(started.sent).toEqual(['SiteCreationStarted', 'ReserveSite']);
    expect(started.statements).toBe(1);

    const reserved = await reply(sagaId, ReserveSite, 'succeeded', { name: 'x', domain: 'x.example.com' });
    expect(reserved).toMatchObject({ result: true, sent: ['ProvisionStorage', 'ProvisionDatabase'], statements: 2 });
    expect((await reply(sagaId, ProvisionStorage, 'succeeded', { path: '/srv/x' })).sent).toEqual([]);
    expect((await reply(sagaId, ProvisionDatabase, 'succeeded', { databaseName: 'site_x', roleName: 'site_x', credentials: SEALED_CREDENTIALS })).sent).toEqual(['BootstrapSite']);
    await reply(sagaId, BootstrapSite, 'succeeded', { adminUser: 'admin' });
    const activated = await reply(sagaId, ActivateSite, 'succeeded', { url: 'https://x.example.com' });

    expect(activated).toMatchObject({ sent: ['SiteCreated'], statements: 2 });
    const saga = await load(sagaId);
    expect(saga).toMatchObject({ status: 'COMPLETED', version: 6, data: { databaseName: 'site_x', url: 'https://x.example.com' } });
    expect(engine.redactedData(saga!)).toMatchObject({ credentials: '[redacted]' });
    const history = await engine.store.history(dataSource.manager, sagaId);
    expect(history.map((entry) => `${entry.direction} ${entry.type}`)).toEqual([
      'in CreateSite',
      'out SiteCreationStarted',
      'out ReserveSite',
      'in SiteReserved',
      'out ProvisionStorage',
      'out ProvisionDatabase',
      'in StorageProvisioned',
      'in DatabaseProvisioned',
      'out BootstrapSite',
      'in SiteBootstrapped',
      'out ActivateSite',
      'in SiteActivated',
      'out SiteCreated',
    ]);
  });

  it('records a late duplicate reply without advancing the saga', async () => {
    const sagaId = newSagaId();
    await start(sagaId);
    await reply(sagaId, ReserveSite, 'succeeded', { name: 'x', domain: 'x.example.com' });

    const duplicate = await reply(sagaId, ReserveSite, 'succeeded', { name: 'x', domain: 'x.example.com' });

    expect(duplicate).toMatchObject({ result: true, sent: [], statements: 2 }); // load + history row
    expect(await load(sagaId)).toMatchObject({ version: 2 });
    expect((await engine.store.history(dataSource.manager, sagaId)).filter((entry) => entry.type === 'SiteReserved')).toHaveLength(2);
  });

  it('answers false for an event of no saga', async () => {
    const stray = ReserveSite.succeeded.create({ siteId: newSagaId(), name: 'x', domain: 'x.example.com' }, { sagaId: newSagaId(), correlationId: 'c', causationId: null });
    expect((await inTransaction((tx) => engine.handleReply(tx, stray))).result).toBe(false);
  });

  it('re-sends on scaled deadlines, gives up, and compensates in reverse order', async () => {
    const sagaId = newSagaId();
    await start(sagaId);
    await reply(sagaId, ReserveSite, 'succeeded', { name: 'x', domain: 'x.example.com' });
    await reply(sagaId, ProvisionStorage, 'succeeded', { path: '/srv/x' });

    const fired: string[][] = [];
    for (let round = 0; round < 10 && (await load(sagaId))?.status === 'RUNNING'; round += 1) {
      now = new Date(now.getTime() + 61); // ProvisionDatabase: 60 s timeout at 1/1000
      const due = await engine.dueDeadlines(dataSource.manager, 100, now);
      for (const deadline of due.filter((candidate) => candidate.sagaId === sagaId)) {
        fired.push((await inTransaction((tx) => engine.fireDeadline(tx, deadline.sagaId, deadline.step, now))).sent);
      }
    }

    expect(fired).toEqual([[], ['ProvisionDatabase'], [], ['ProvisionDatabase'], ['DeprovisionStorage', 'DropDatabase']]);
    await reply(sagaId, DeprovisionStorage, 'succeeded');
    expect((await reply(sagaId, DropDatabase, 'succeeded')).sent).toEqual(['ReleaseSite']);
    expect((await reply(sagaId, ReleaseSite, 'succeeded')).sent).toEqual(['SiteCreationFailed']);
    expect(await load(sagaId)).toMatchObject({ status: 'COMPENSATED' });
    expect(await engine.dueDeadlines(dataSource.manager, 100, new Date(now.getTime() + 3_600_000))).not.toContainEqual(expect.objectContaining({ sagaId }));
  });

  it('sets aside a saga whose type no definition knows when a reply comes for it, telling a person once', async () => {
    const sagaId = newSagaId();
    await start(sagaId);
    await dataSource.query(`UPDATE saga_instances SET type = 'RenamedSaga' WHERE id = $1`, [sagaId]);

    const first = await reply(sagaId, ReserveSite, 'succeeded', { name: 'x', domain: 'x.example.com' });

    expect(first).toMatchObject({ result: true, sent: ['SagaNeedsAttention'] });
    const saga = await load(sagaId);
    expect(saga).toMatchObject({ status: 'FAILED', failure: { failedStep: '(saga)', cause: 'quarantined', reason: 'no saga definition of type RenamedSaga' } });
    expect(saga?.steps.every((step) => step.deadlineAt === null)).toBe(true);
    expect(lastSent(sagaId, 'SagaNeedsAttention')).toMatchObject({ sagaId, causationId: expect.any(String), payload: { sagaType: 'RenamedSaga' } });
    // A later reply is only recorded: nothing more is sent.
    expect(await reply(sagaId, ReserveSite, 'succeeded', { name: 'x', domain: 'x.example.com' })).toMatchObject({ result: true, sent: [] });
    expect((await engine.store.history(dataSource.manager, sagaId)).map((entry) => entry.type)).toContain('Quarantined');
  });

  it('keeps the outcome of an ended saga when asked to set it aside, clearing only its deadlines', async () => {
    const sagaId = newSagaId();
    await start(sagaId);
    await dataSource.query(`UPDATE saga_instances SET status = 'COMPLETED' WHERE id = $1`, [sagaId]);

    expect((await inTransaction((tx) => engine.quarantine(tx, sagaId, 'ReserveSite', 'broken'))).sent).toEqual([]);
    const saga = await load(sagaId);
    expect(saga?.status).toBe('COMPLETED');
    expect(saga?.steps.every((step) => step.deadlineAt === null)).toBe(true);
  });

  it('aborts a running saga and refuses to abort it twice', async () => {
    const sagaId = newSagaId();
    await start(sagaId);

    const aborted = await inTransaction((tx) => engine.abort(tx, sagaId, 'operator said so'));
    expect(aborted.sent).toEqual(['ReleaseSite']);
    expect(aborted.result.status).toBe('COMPENSATING');

    await expect(inTransaction((tx) => engine.abort(tx, sagaId, 'again'))).rejects.toThrow(SagaTransitionRefused);
    await expect(inTransaction((tx) => engine.retry(tx, newSagaId()))).rejects.toThrow(SagaNotFound);
  });
});
