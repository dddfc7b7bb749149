import { pendingStep, type SagaState, type SagaStatus, type StepState } from '../saga-state';
import { scratchDatabase } from '../testing/scratch-database';
import { countSelectedSagas, selectedSagaIds } from './saga-selection';
import { SagaStore } from './saga-store';

/*
 * The selection a bulk operation makes, against real Postgres on a toy domain (mailboxes):
 * the list's filters plus the step a saga is at or failed at, its error text and a time range.
 */
const at = (minute: number) => new Date(Date.UTC(2025, 0, 1, 12, minute));
const step = (name: string, position: number, overrides: Partial<StepState> = {}): StepState => ({ ...pendingStep(name, position), ...overrides });
let sequence = 0;

function saga(status: SagaStatus, minute: number, steps: StepState[], failure: SagaState['failure'] = null, type = 'OpenMailbox'): SagaState {
  const id = `cccccccc-0000-4000-8000-${String(++sequence).padStart(12, '0')}`;
  return {
    id,
    type,
    status,
    version: 1,
    definitionVersion: 1,
    waitingFor: null,
    data: {},
    failure,
    correlationId: id,
    searchKey: `owner-${sequence}`,
    createdAt: at(minute),
    updatedAt: at(minute),
    steps,
  };
}

describe('selecting sagas for a bulk operation', () => {
  let database: Awaited<ReturnType<typeof scratchDatabase>>;
  const store = new SagaStore();
  // Failed at CreateInbox, its undo stuck; running at CreateInbox; failed elsewhere with "50%_off" in the reason; done.
  const stuck = saga(
    'FAILED',
    1,
    [
      step('ReserveAddress', 0, { state: 'FAILED', compensationAttempts: 3, error: 'connection refused' }),
      step('CreateInbox', 1, { state: 'FAILED', error: 'quota exceeded' }),
    ],
    {
      failedStep: 'CreateInbox',
      reason: 'quota exceeded',
      cause: 'business',
      stuck: [{ step: 'ReserveAddress', reason: 'connection refused' }],
    },
  );
  const running = saga('RUNNING', 2, [step('ReserveAddress', 0, { state: 'SUCCEEDED' }), step('CreateInbox', 1, { state: 'RUNNING' })]);
  const percent = saga('COMPENSATED', 3, [step('ReserveAddress', 0, { state: 'COMPENSATED' })], {
    failedStep: 'ReserveAddress',
    reason: 'price 50%_off refused',
    cause: 'business',
    stuck: [],
  });
  const done = saga('COMPLETED', 4, [step('ReserveAddress', 0, { state: 'SUCCEEDED' }), step('CreateInbox', 1, { state: 'SUCCEEDED' })], null, 'CloseMailbox');

  beforeAll(async () => {
    database = await scratchDatabase();
    for (const each of [stuck, running, percent, done]) await store.insert(database.dataSource.manager, each);
  });
  afterAll(async () => {
    await database?.drop();
  });

  const ids = (selection: Parameters<typeof selectedSagaIds>[1]) => selectedSagaIds(database.dataSource.manager, selection, 100);

  it('matches a step the saga failed at, runs, or is stuck at, but not one it finished', async () => {
    expect(await ids({ step: 'CreateInbox' })).toEqual([stuck.id, running.id]);
    expect(await ids({ step: 'ReserveAddress' })).toEqual([stuck.id, percent.id]);
    expect(await ids({ step: 'CreateInbox', status: 'FAILED' })).toEqual([stuck.id]);
  });

  it('finds error text in the failure or a step, case-insensitively, with % and _ taken literally', async () => {
    expect(await ids({ errorContains: 'CONNECTION' })).toEqual([stuck.id]);
    expect(await ids({ errorContains: '50%_off' })).toEqual([percent.id]);
    expect(await ids({ errorContains: '%' })).toEqual([percent.id]);
  });

  it('bounds by creation time and type, counts by status, and stops at the limit, oldest first', async () => {
    expect(await ids({ createdFrom: at(2), createdBefore: at(4) })).toEqual([running.id, percent.id]);
    expect(await ids({ type: 'CloseMailbox' })).toEqual([done.id]);
    expect(await countSelectedSagas(database.dataSource.manager, { createdFrom: at(1) })).toEqual({
      matched: 4,
      byStatus: { FAILED: 1, RUNNING: 1, COMPENSATED: 1, COMPLETED: 1 },
    });
    expect(await selectedSagaIds(database.dataSource.manager, {}, 2)).toEqual([stuck.id, running.id]);
  });
});
