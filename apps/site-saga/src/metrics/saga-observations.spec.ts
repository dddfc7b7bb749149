import { pendingStep, type SagaState, type StepState } from '@sitesaga/saga';
import { isEmpty, observationsOf } from './saga-observations';

const at = (second: number): Date => new Date(Date.UTC(2025, 0, 1, 0, 0, second));

const step = (name: string, position: number, overrides: Partial<StepState> = {}): StepState => ({ ...pendingStep(name, position), ...overrides });

const saga = (status: SagaState['status'], steps: StepState[], updatedAt: Date): SagaState => ({
  id: '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
  type: 'CreateSite',
  status,
  version: 3,
  definitionVersion: 1,
  waitingFor: null,
  data: {},
  failure: null,
  correlationId: 'c',
  searchKey: null,
  createdAt: at(0),
  updatedAt,
  steps,
});

describe('saga observations', () => {
  it('sees a forward step succeed with its duration from the first send, and the saga complete', () => {
    const before = saga('RUNNING', [step('ReserveSite', 0, { state: 'SUCCEEDED', startedAt: at(0), finishedAt: at(1) }), step('ActivateSite', 1, { state: 'RUNNING', startedAt: at(2) })], at(2));
    const after = saga('COMPLETED', [before.steps[0]!, step('ActivateSite', 1, { state: 'SUCCEEDED', startedAt: at(2), finishedAt: at(5) })], at(5));
    const observed = observationsOf(before, after);
    expect(observed.finishedSteps).toEqual([{ name: 'ActivateSite', leg: 'forward', outcome: 'SUCCEEDED', startedAt: at(2), finishedAt: at(5) }]);
    expect(observed.finished).toEqual({ status: 'COMPLETED', seconds: 5 });
  });

  it('tells a compensation from a forward leg, and a compensation that gave up', () => {
    const before = saga('COMPENSATING', [step('ReserveSite', 0, { state: 'COMPENSATING', startedAt: at(0), finishedAt: at(1) }), step('ProvisionStorage', 1, { state: 'RUNNING', startedAt: at(1) })], at(3));
    const after = saga(
      'FAILED',
      [
        step('ReserveSite', 0, { state: 'FAILED', startedAt: at(0), finishedAt: at(9), compensationAttempts: 5 }),
        step('ProvisionStorage', 1, { state: 'FAILED', startedAt: at(1), finishedAt: at(9), mayHaveTakenEffect: true }),
      ],
      at(9),
    );
    const observed = observationsOf(before, after);
    expect(observed.finishedSteps.map(({ name, leg, outcome }) => ({ name, leg, outcome }))).toEqual([
      { name: 'ReserveSite', leg: 'compensation', outcome: 'COMPENSATION_FAILED' },
      { name: 'ProvisionStorage', leg: 'forward', outcome: 'FAILED' },
    ]);
    expect(observed.finished).toEqual({ status: 'FAILED', seconds: 9 });
  });

  it('sees a running step given up and sent to compensation in one change as a failed forward leg', () => {
    const before = saga('RUNNING', [step('ProvisionStorage', 1, { state: 'RUNNING', startedAt: at(1) })], at(1));
    const after = saga('COMPENSATING', [step('ProvisionStorage', 1, { state: 'COMPENSATING', startedAt: at(1), finishedAt: at(4), mayHaveTakenEffect: true })], at(4));
    const observed = observationsOf(before, after);
    expect(observed.finishedSteps).toEqual([{ name: 'ProvisionStorage', leg: 'forward', outcome: 'FAILED', startedAt: at(1), finishedAt: at(4) }]);
    expect(observed.compensationsStarted).toEqual(['ProvisionStorage']);
    expect(observed.finished).toBeNull();
  });

  it('records the start of a compensation leg, and sees nothing in a re-send', () => {
    const running = step('ReserveSite', 0, { state: 'RUNNING', attempts: 1, startedAt: at(0) });
    const started = observationsOf(saga('COMPENSATING', [step('ReserveSite', 0, { state: 'SUCCEEDED', startedAt: at(0), finishedAt: at(1) })], at(1)), saga('COMPENSATING', [step('ReserveSite', 0, { state: 'COMPENSATING', startedAt: at(0), finishedAt: at(1) })], at(4)));
    expect(started.compensationsStarted).toEqual(['ReserveSite']);
    expect(started.finishedSteps).toEqual([]);
    expect(isEmpty(observationsOf(saga('RUNNING', [running], at(0)), saga('RUNNING', [{ ...running, attempts: 2 }], at(3))))).toBe(true);
  });
});
