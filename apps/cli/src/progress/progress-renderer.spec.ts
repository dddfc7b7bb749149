import type { SagaDetail, StepView } from '../admin/admin-views';
import { stripAnsi } from '../terminal/terminal-text';
import { outcomeLine, progressChanges, renderProgress, renderStepTable } from './progress-renderer';

const sagaId = '6f1c2d3e-0000-4000-8000-000000000001';
const step = (name: string, position: number, overrides: Partial<StepView> = {}): StepView => ({
  name,
  position,
  state: 'PENDING',
  attempts: 0,
  startedAt: null,
  finishedAt: null,
  error: null,
  compensationAttempts: 0,
  mayHaveTakenEffect: false,
  deadlineAt: null,
  deadlineKind: null,
  durationMs: null,
  waits: null,
  ...overrides,
});
const done = (name: string, position: number, startedAt: string, finishedAt: string): StepView =>
  step(name, position, { state: 'SUCCEEDED', attempts: 1, startedAt, finishedAt, durationMs: Date.parse(finishedAt) - Date.parse(startedAt) });

/** A create-site saga waiting on the database, as GET /admin/sagas/:id returns it. */
const running: SagaDetail = {
  id: sagaId,
  type: 'CreateSite',
  status: 'RUNNING',
  version: 4,
  definitionVersion: 1,
  versionDeployed: true,
  waitingFor: null,
  input: { siteId: sagaId, name: 'my-blog', credentials: '[redacted]' },
  createdAt: '2024-11-23T12:00:00.000Z',
  updatedAt: '2024-11-23T12:00:00.300Z',
  siteName: 'my-blog',
  siteId: sagaId,
  correlationId: sagaId,
  failure: null,
  stageCount: 4,
  actions: { retry: true, abort: true },
  historyTruncated: false,
  history: [],
  steps: [
    done('ReserveSite', 0, '2024-11-23T12:00:00.010Z', '2024-11-23T12:00:00.130Z'),
    done('ProvisionStorage', 1, '2024-11-23T12:00:00.140Z', '2024-11-23T12:00:00.220Z'),
    step('ProvisionDatabase', 1, { state: 'RUNNING', attempts: 2, startedAt: '2024-11-23T12:00:00.140Z', deadlineKind: 'resend', deadlineAt: '2024-11-23T12:00:02.000Z' }),
    step('BootstrapSite', 2),
    step('ActivateSite', 3),
  ],
};
const now = new Date('2024-11-23T12:00:01.440Z');

const completed: SagaDetail = {
  ...running,
  status: 'COMPLETED',
  version: 9,
  updatedAt: '2024-11-23T12:00:03.400Z',
  steps: [
    running.steps[0]!,
    running.steps[1]!,
    done('ProvisionDatabase', 1, '2024-11-23T12:00:00.140Z', '2024-11-23T12:00:02.540Z'),
    done('BootstrapSite', 2, '2024-11-23T12:00:02.550Z', '2024-11-23T12:00:03.200Z'),
    done('ActivateSite', 3, '2024-11-23T12:00:03.210Z', '2024-11-23T12:00:03.390Z'),
  ],
};

describe('progress renderer', () => {
  it('draws the step table with the parallel steps bracketed together, attempts and durations', () => {
    expect(renderStepTable(running, { now })).toEqual([
      '  STEP               STATE      ATTEMPTS  DURATION  NOTE',
      '  ReserveSite        SUCCEEDED         1     120ms',
      '┌ ProvisionStorage   SUCCEEDED         1      80ms',
      '└ ProvisionDatabase  RUNNING           2     1.3s…  re-send in 560ms',
      '  BootstrapSite      PENDING           -',
      '  ActivateSite       PENDING           -',
    ]);
  });

  it('heads the view with type, site, status, elapsed time and saga id, and ends it with the outcome', () => {
    const lines = renderProgress(completed, { now: new Date('2024-11-23T12:10:00Z') });
    expect(lines[0]).toBe(`CreateSite my-blog  COMPLETED  3.4s  saga ${sagaId}`);
    expect(lines.slice(2, 7).map((line) => line.replace(/\s+/g, ' ').trim())).toEqual([
      'ReserveSite SUCCEEDED 1 120ms',
      '┌ ProvisionStorage SUCCEEDED 1 80ms',
      '└ ProvisionDatabase SUCCEEDED 1 2.4s',
      'BootstrapSite SUCCEEDED 1 650ms',
      'ActivateSite SUCCEEDED 1 180ms',
    ]);
    expect(lines[7]).toBe('completed: every step succeeded');
  });

  it('colours states only when asked, without changing the text', () => {
    const coloured = renderProgress(running, { now, color: true });
    expect(coloured.join('\n')).toContain('\u001b[33mRUNNING\u001b[39m');
    expect(coloured.map(stripAnsi)).toEqual(renderProgress(running, { now }));
  });

  it('shows a compensated saga: the failed step with its error, the undone steps and why', () => {
    const compensated: SagaDetail = {
      ...running,
      status: 'COMPENSATED',
      failure: { failedStep: 'BootstrapSite', reason: 'bootstrap refused: schema exists', cause: 'business', stuck: [] },
      steps: [
        step('ReserveSite', 0, { state: 'COMPENSATED', attempts: 1, compensationAttempts: 1, startedAt: '2024-11-23T12:00:00.010Z', finishedAt: '2024-11-23T12:00:00.130Z', durationMs: 120 }),
        step('ProvisionStorage', 1, { state: 'COMPENSATED', attempts: 1, compensationAttempts: 1, durationMs: 80 }),
        step('ProvisionDatabase', 1, { state: 'COMPENSATED', attempts: 1, compensationAttempts: 2, durationMs: 900 }),
        step('BootstrapSite', 2, { state: 'FAILED', attempts: 1, error: 'bootstrap refused:\nschema exists', durationMs: 40 }),
        step('ActivateSite', 3, { state: 'SKIPPED' }),
      ],
    };
    const lines = renderProgress(compensated, { now });
    expect(lines).toContain('└ ProvisionDatabase  COMPENSATED  1 (undo 2)     900ms');
    expect(lines).toContain('  BootstrapSite      FAILED                1      40ms  bootstrap refused: schema exists');
    expect(lines.at(-1)).toBe('compensated: BootstrapSite failed (bootstrap refused: schema exists); 3 steps undone');
  });

  it('tells an operator how to resume a FAILED saga', () => {
    const failed: SagaDetail = { ...running, status: 'FAILED', failure: { failedStep: 'BootstrapSite', reason: 'x', cause: 'exhausted', stuck: [{ step: 'ProvisionDatabase', reason: 'connection refused' }] } };
    expect(outcomeLine(failed)).toBe(`FAILED: a compensation could not finish (ProvisionDatabase: connection refused); fix the cause, then: saga retry ${sagaId}`);
  });

  it('appends one plain line per change when the output is not a terminal', () => {
    const first = progressChanges(null, running, now);
    expect(first).toEqual([
      `+1.4s  saga ${sagaId} CreateSite my-blog: RUNNING`,
      '+1.4s  ReserveSite SUCCEEDED (attempt 1, 120ms)',
      '+1.4s  ProvisionStorage SUCCEEDED (attempt 1, 80ms)',
      '+1.4s  ProvisionDatabase RUNNING (attempt 2, re-send in 560ms)',
    ]);
    const later = new Date('2024-11-23T12:00:03.500Z');
    expect(progressChanges(running, completed, later)).toEqual([
      '+3.5s  ProvisionDatabase SUCCEEDED (attempt 1, 2.4s)',
      '+3.5s  BootstrapSite SUCCEEDED (attempt 1, 650ms)',
      '+3.5s  ActivateSite SUCCEEDED (attempt 1, 180ms)',
      '+3.5s  saga COMPLETED',
    ]);
    expect(progressChanges(completed, completed, later)).toEqual([]);
  });
});
