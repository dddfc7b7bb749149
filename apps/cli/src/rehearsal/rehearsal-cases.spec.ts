import type { DefinitionStepView, SagaDefinitionView } from '@sitesaga/http-contracts';
import { describeExpectation, rehearsalPlan } from './rehearsal-cases';

const retry = { maxAttempts: 3, backoffMs: 100, factor: 2, jitter: 0, maxBackoffMs: 1000 };
const command = (type: string, service: string) => ({ type, topic: `${service}.commands`, service, succeeded: `${type}Done`, failed: `${type}Failed` });
const step = (name: string, position: number, service: string, undo: string | null, overrides: Partial<DefinitionStepView> = {}): DefinitionStepView => ({
  name,
  position,
  command: command(name, service),
  timeoutMs: 1000,
  retry,
  compensation: undo ? { command: command(undo, service), timeoutMs: 1000, retry } : null,
  ...overrides,
});

/** Book → (Pay ∥ Ship) → Notify: Book, Pay and Ship are undone; Ship's undo is on the warehouse, Notify is not undone. */
const toy: SagaDefinitionView = {
  type: 'Order',
  whenExhausted: 'compensate',
  timeScale: 1,
  stages: [
    { position: 0, parallel: false, steps: [step('Book', 0, 'booking', 'Unbook')] },
    { position: 1, parallel: true, steps: [step('Pay', 1, 'payments', 'Refund'), step('Ship', 1, 'warehouse', null)] },
    { position: 2, parallel: false, steps: [step('Notify', 2, 'mail', null)] },
  ],
};

describe('rehearsalPlan', () => {
  const plan = rehearsalPlan(toy);
  const byId = (id: string) => {
    const found = plan.cases.find((candidate) => candidate.id === id);
    if (!found) throw new Error(`no case ${id}; have ${plan.cases.map((candidate) => candidate.id).join(', ')}`);
    return found;
  };

  it('has every step × four faults, then every compensation × four faults', () => {
    expect(plan.cases.map((rehearsal) => rehearsal.id)).toEqual([
      ...['Book', 'Pay', 'Ship', 'Notify'].flatMap((name) => ['business', 'transient', 'stall', 'crash'].map((kind) => `Order: ${name} × ${kind}`)),
      ...['undo Unbook (Book)', 'undo Refund (Pay)'].flatMap((name) => ['business', 'transient', 'stall', 'crash'].map((kind) => `Order: ${name} × ${kind}`)),
    ]);
    expect(plan.skipped).toEqual([]);
  });

  it('a refused step in a parallel stage: earlier and sibling steps undone, a sibling without undo either way, later steps skipped', () => {
    const rehearsal = byId('Order: Pay × business');
    expect(rehearsal.faults).toEqual([{ service: 'payments', command: 'Pay', mode: 'fail', rehearsed: true }]);
    expect(rehearsal.expected.status).toBe('COMPENSATED');
    expect(rehearsal.expected.steps).toEqual({
      Book: { states: ['COMPENSATED'], effect: 'none' },
      Pay: { states: ['FAILED'], effect: 'none' },
      Ship: { states: ['SUCCEEDED', 'FAILED'], effect: 'maybe' },
      Notify: { states: ['SKIPPED'], effect: 'none' },
    });
    expect(rehearsal.crashes).toBeNull();
  });

  it('a refused last step leaves the effects of steps that have no undo', () => {
    expect(byId('Order: Notify × business').expected.steps).toEqual({
      Book: { states: ['COMPENSATED'], effect: 'none' },
      Pay: { states: ['COMPENSATED'], effect: 'none' },
      Ship: { states: ['SUCCEEDED'], effect: 'kept' },
      Notify: { states: ['FAILED'], effect: 'none' },
    });
  });

  it('transient and stall fault the first command only and expect a retry that completes the saga', () => {
    for (const kind of ['transient', 'stall'] as const) {
      const rehearsal = byId(`Order: Ship × ${kind}`);
      expect(rehearsal.faults).toEqual([{ service: 'warehouse', command: 'Ship', mode: kind, times: 1, rehearsed: true }]);
      expect(rehearsal.expected.status).toBe('COMPLETED');
      expect(Object.values(rehearsal.expected.steps).every((expected) => expected.states.join() === 'SUCCEEDED' && expected.effect === 'kept')).toBe(true);
      expect(rehearsal.expected).toMatchObject({ minAttempts: 2, attemptsOf: { step: 'Ship', leg: 'forward' } });
    }
  });

  it('a crash kills the service of the command, once, and the saga still completes', () => {
    const rehearsal = byId('Order: Pay × crash');
    expect(rehearsal.crashes).toBe('payments');
    expect(rehearsal.faults).toEqual([{ service: 'payments', command: 'Pay', mode: 'crash', times: 1, rehearsed: true }]);
    expect(rehearsal.expected.status).toBe('COMPLETED');
  });

  it('a compensation case refuses the first step of the next stage and faults the undo', () => {
    const rehearsal = byId('Order: undo Unbook (Book) × stall');
    expect(rehearsal.trigger).toBe('Pay');
    expect(rehearsal.faults).toEqual([
      { service: 'payments', command: 'Pay', mode: 'fail', rehearsed: false },
      { service: 'booking', command: 'Unbook', mode: 'stall', times: 1, rehearsed: true },
    ]);
    expect(rehearsal.services).toEqual(['payments', 'booking']);
    expect(rehearsal.expected.status).toBe('COMPENSATED');
    expect(rehearsal.expected.steps.Book).toEqual({ states: ['COMPENSATED'], effect: 'none' });
    expect(rehearsal.expected).toMatchObject({ minAttempts: 2, attemptsOf: { step: 'Book', leg: 'compensation' } });
  });

  it('an undo refused on every attempt stops the saga FAILED with its effect and those of earlier stages left behind', () => {
    const rehearsal = byId('Order: undo Refund (Pay) × business');
    expect(rehearsal.trigger).toBe('Notify');
    expect(rehearsal.expected.status).toBe('FAILED');
    expect(rehearsal.expected.steps).toEqual({
      Book: { states: ['SUCCEEDED'], effect: 'kept' },
      Pay: { states: ['FAILED'], effect: 'kept' },
      Ship: { states: ['SUCCEEDED'], effect: 'kept' },
      Notify: { states: ['FAILED'], effect: 'none' },
    });
    expect(rehearsal.expected.minAttempts).toBe(3);
    expect(describeExpectation(rehearsal)).toBe('FAILED; Book SUCCEEDED, Pay FAILED, Ship SUCCEEDED, Notify FAILED');
  });

  it('a compensation in the last stage is made to run by refusing a sibling; a lone one with nothing to refuse is skipped, with the reason', () => {
    const lastStage: SagaDefinitionView = {
      ...toy,
      stages: [{ position: 0, parallel: true, steps: [step('Pay', 0, 'payments', 'Refund'), step('Ship', 0, 'warehouse', 'Unship')] }],
    };
    expect(rehearsalPlan(lastStage).cases.find((rehearsal) => rehearsal.id === 'Order: undo Refund (Pay) × crash')?.trigger).toBe('Ship');
    const alone: SagaDefinitionView = { ...toy, stages: [{ position: 0, parallel: false, steps: [step('Pay', 0, 'payments', 'Refund')] }] };
    expect(rehearsalPlan(alone).skipped).toContainEqual({ id: 'Order: undo Refund (Pay) × stall', reason: 'no other step can be refused to make Pay compensate' });
  });

  it('a step with a single attempt has no transient or stall case', () => {
    const single: SagaDefinitionView = {
      ...toy,
      stages: [{ position: 0, parallel: false, steps: [step('Pay', 0, 'payments', null, { retry: { ...retry, maxAttempts: 1 } })] }],
    };
    const result = rehearsalPlan(single);
    expect(result.cases.map((rehearsal) => rehearsal.kind)).toEqual(['business', 'crash']);
    expect(result.skipped.map((skipped) => skipped.id)).toEqual(['Order: Pay × transient', 'Order: Pay × stall']);
  });

  it('a new step is rehearsed without a new test: one more step is four more cases', () => {
    const longer: SagaDefinitionView = { ...toy, stages: [...toy.stages, { position: 3, parallel: false, steps: [step('Invoice', 3, 'billing', 'Void')] }] };
    const longerPlan = rehearsalPlan(longer);
    expect(longerPlan.cases.length - plan.cases.length).toBe(4);
    expect(longerPlan.cases.filter((rehearsal) => rehearsal.step === 'Invoice').map((rehearsal) => rehearsal.id)).toEqual(
      ['business', 'transient', 'stall', 'crash'].map((kind) => `Order: Invoice × ${kind}`),
    );
    // Its undo could only run if something after it failed: nothing does, so it is skipped, with the reason.
    expect(longerPlan.skipped.map((skipped) => skipped.id)).toHaveLength(4);
  });
});
