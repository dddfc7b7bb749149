import type { SagaDetail, SagaSummary } from '../admin/admin-views';
import { matchesTail } from '../commands/tail.command';
import { renderSagaDetail, renderSagaList, renderStats, tailLine } from './saga-views';

const now = new Date('2024-11-23T12:05:00.000Z');
const summary = (overrides: Partial<SagaSummary> = {}): SagaSummary => ({
  id: '6f1c2d3e-0000-4000-8000-000000000001',
  type: 'CreateSite',
  status: 'RUNNING',
  version: 3,
  definitionVersion: 1,
  versionDeployed: true,
  waitingFor: null,
  siteName: 'my-blog',
  siteId: '6f1c2d3e-0000-4000-8000-000000000001',
  createdAt: '2024-11-23T12:04:30.000Z',
  updatedAt: '2024-11-23T12:04:31.000Z',
  currentStep: 'ProvisionDatabase, ProvisionStorage',
  ...overrides,
});

describe('saga views', () => {
  it('lists sagas with their age, status and where they are', () => {
    const lines = renderSagaList(
      { items: [summary(), summary({ id: '00000000-0000-4000-8000-000000000002', status: 'COMPENSATED', currentStep: null, failedStep: 'BootstrapSite', createdAt: '2024-11-23T10:00:00.000Z' })], nextCursor: null },
      { now },
    );
    expect(lines).toEqual([
      'CREATED  SAGA                                  TYPE        STATUS       SITE     STEP',
      '30s ago  6f1c2d3e-0000-4000-8000-000000000001  CreateSite  RUNNING      my-blog  at ProvisionDatabase, ProvisionStorage',
      '2h ago   00000000-0000-4000-8000-000000000002  CreateSite  COMPENSATED  my-blog  failed at BootstrapSite',
    ]);
    expect(renderSagaList({ items: [], nextCursor: null }, { now })).toEqual(['no sagas']);
  });

  it('shows a saga: facts, step table, outcome and the history relative to its start', () => {
    const detail: SagaDetail = {
      ...summary({ status: 'COMPLETED', updatedAt: '2024-11-23T12:04:31.500Z' }),
      input: { siteId: 'x', name: 'my-blog', credentials: '[redacted]' },
      correlationId: 'c-1',
      actions: { retry: false, abort: false },
      historyTruncated: false,
      failure: null,
      stageCount: 1,
      steps: [{ name: 'ReserveSite', position: 0, state: 'SUCCEEDED', attempts: 1, startedAt: '2024-11-23T12:04:30.010Z', finishedAt: '2024-11-23T12:04:30.110Z', error: null, compensationAttempts: 0, mayHaveTakenEffect: false, deadlineAt: null, deadlineKind: null, durationMs: 100, waits: { kafkaMs: 6, participantMs: 70, orchestratorMs: 24 } }],
      history: [
        { direction: 'in', topic: 'site-saga.commands', messageId: 'm1', type: 'CreateSite', at: '2024-11-23T12:04:30.000Z', step: null, hops: null },
        { direction: 'out', topic: 'sites.commands', messageId: 'm2', type: 'ReserveSite', at: '2024-11-23T12:04:30.010Z', step: 'ReserveSite', hops: { outboxMs: 4, brokerMs: 3, handlerMs: 60 } },
      ],
    };
    const lines = renderSagaDetail(detail, { now });
    expect(lines[0]).toBe('saga         6f1c2d3e-0000-4000-8000-000000000001');
    expect(lines).toContain('status       COMPLETED (1.5s, version 3)');
    expect(lines).toContain('input        {"siteId":"x","name":"my-blog","credentials":"[redacted]"}');
    expect(lines).toContain('  ReserveSite  SUCCEEDED         1     100ms');
    expect(lines).toContain('completed: every step succeeded');
    expect(lines).toContain('  STEP         KAFKA  PARTICIPANT  ORCHESTRATOR');
    expect(lines).toContain('  ReserveSite    6ms         70ms          24ms');
    expect(lines.slice(-4)).toEqual([
      'history (2 messages)',
      '     AT  DIR    MESSAGE      STEP         OUTBOX/KAFKA/HANDLER  TOPIC',
      '   +0ms  → in   CreateSite                                      site-saga.commands',
      '  +10ms  ← out  ReserveSite  ReserveSite  4ms/3ms/60ms          sites.commands',
    ]);
  });

  it('says which saga a waiting saga waits for, and when its definition version is not deployed', () => {
    const holder = '6f1c2d3e-0000-4000-8000-00000000000a';
    const waiting = summary({ id: '00000000-0000-4000-8000-000000000003', type: 'DeleteSite', siteName: null, currentStep: null, waitingFor: holder });
    const stranded = summary({ id: '00000000-0000-4000-8000-000000000004', definitionVersion: 1, versionDeployed: false, currentStep: 'BootstrapSite' });
    const lines = renderSagaList({ items: [waiting, stranded], nextCursor: null }, { now });
    expect(lines[1]).toContain(`waiting for saga ${holder}`);
    expect(lines[2]).toContain('at BootstrapSite (version 1 not deployed)');

    const detail: SagaDetail = {
      ...waiting,
      input: { siteId: holder },
      correlationId: 'c-2',
      actions: { retry: true, abort: true },
      historyTruncated: false,
      failure: null,
      stageCount: 3,
      steps: [],
      history: [],
    };
    expect(renderSagaDetail(detail, { now })).toContain(`waiting      waiting for saga ${holder} (same site): begins when it ends`);
    expect(renderSagaDetail({ ...detail, waitingFor: null, versionDeployed: false }, { now })).toContain(
      'type         DeleteSite version 1 (not deployed: it waits, replies parked, until that version is deployed again)',
    );
  });

  it('summarises stats: counts by status and type, step latencies, saga durations', () => {
    const lines = renderStats(
      {
        byStatus: { COMPLETED: 40, FAILED: 1 },
        byType: { CreateSite: { COMPLETED: 38, FAILED: 1 }, DeleteSite: { COMPLETED: 2 } },
        steps: [{ name: 'ReserveSite', count: 40, p50Ms: 12, p95Ms: 40, p99Ms: 1_200 }],
        sagaDurations: { count: 40, p50Ms: 900, p95Ms: 2_000, p99Ms: null },
        window: { sagas: 2000, since: null },
        generatedAt: now.toISOString(),
      },
      { now },
    );
    expect(lines[1]).toBe('  RUNNING 0   COMPENSATING 0   COMPLETED 40   COMPENSATED 0   FAILED 1');
    expect(lines).toContain('CreateSite        0             0         38            0       1');
    expect(lines).toContain('ReserveSite         40  12ms  40ms  1.2s');
    expect(lines).toContain('completed sagas: 40, duration p50 900ms, p95 2.0s, p99 -');
  });

  it('prints one tail line per change and filters by status, type and site', () => {
    expect(tailLine(summary())).toMatch(/^\d\d:\d\d:\d\d  RUNNING       CreateSite  6f1c2d3e-0000-4000-8000-000000000001  my-blog  at ProvisionDatabase, ProvisionStorage$/);
    expect(matchesTail({ status: 'FAILED' }, summary())).toBe(false);
    expect(matchesTail({ type: 'CreateSite', siteName: 'my-blog' }, summary())).toBe(true);
  });
});
