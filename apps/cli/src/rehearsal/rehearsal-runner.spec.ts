import type { DefinitionStepView, SagaDefinitionView, SagaDetail } from '@sitesaga/http-contracts';
import { type RehearsalCase, rehearsalPlan } from './rehearsal-cases';
import { type FaultRuleSpec, runRehearsal } from './rehearsal-runner';

const retry = { maxAttempts: 3, backoffMs: 10, factor: 2, jitter: 0, maxBackoffMs: 100 };
const command = (type: string, service: string) => ({ type, topic: `${service}.commands`, service, succeeded: `${type}Ok`, failed: `${type}Failed` });
const step = (name: string, position: number, service: string, undo: string | null): DefinitionStepView => ({
  name,
  position,
  command: command(name, service),
  timeoutMs: 100,
  retry,
  compensation: undo ? { command: command(undo, service), timeoutMs: 100, retry } : null,
});
const toy: SagaDefinitionView = {
  type: 'Order',
  whenExhausted: 'compensate',
  timeScale: 1,
  stages: [
    { position: 0, parallel: false, steps: [step('Book', 0, 'booking', 'Unbook')] },
    { position: 1, parallel: true, steps: [step('Pay', 1, 'payments', 'Refund'), step('Ship', 1, 'warehouse', null)] },
  ],
};

/**
 * A scripted system: each saga ends as its case expects (or as `wrong` says), after a few
 * reads; `/faults` is a map per service that checks, on every change, that no case holds
 * rules on a service another running case crashes.
 */
function fakeSystem(options: { wrong?: string; crashLeavesRule?: string } = {}) {
  const rules = new Map<string, (FaultRuleSpec & { fired: number })[]>();
  const caseOf = new Map<string, RehearsalCase>();
  const reads = new Map<string, number>();
  const overlaps: string[] = [];
  let clock = 0;
  let maxRunning = 0;
  let subjects = 0;
  const running = new Set<string>();
  return {
    overlaps,
    get maxRunning() {
      return maxRunning;
    },
    bind(cases: readonly RehearsalCase[]) {
      return {
        // The runner labels the case at index i `r<i+1>`.
        prepare: (_type: string, label: string) => {
          const match = `site-${label}-${(subjects += 1)}`;
          caseOf.set(match, cases[Number(label.slice(1)) - 1]!);
          return Promise.resolve({ key: match, match, baseline: {} });
        },
        start: (_type: string, subject: { match: string }) => {
          const rehearsal = caseOf.get(subject.match)!;
          const wanted = rehearsal.faults.every((fault) => rules.get(fault.service)?.some((rule) => rule.match === subject.match && rule.command === fault.command && rule.mode === fault.mode));
          if (!wanted) throw new Error(`the rules of ${rehearsal.id} were not put before its saga started`);
          running.add(subject.match);
          maxRunning = Math.max(maxRunning, running.size);
          return Promise.resolve(subject.match);
        },
        detail: (sagaId: string): Promise<SagaDetail | null> => {
          const rehearsal = caseOf.get(sagaId)!;
          const count = (reads.get(sagaId) ?? 0) + 1;
          reads.set(sagaId, count);
          const target = rehearsal.faults.find((fault) => fault.rehearsed)!;
          const service = rules.get(target.service) ?? [];
          const rule = service.find((candidate) => candidate.match === sagaId && candidate.command === target.command);
          if (count < 3) return Promise.resolve({ status: 'RUNNING', steps: [] } as unknown as SagaDetail);
          // The fault is felt: counted, or (crash) the service restarted and lost its rules.
          if (rule) rule.fired = 1;
          if (rehearsal.crashes && rehearsal.id !== options.crashLeavesRule) rules.set(rehearsal.crashes, []);
          running.delete(sagaId);
          const steps = Object.entries(rehearsal.expected.steps).map(([name, expected]) => ({
            name,
            state: expected.states[0],
            attempts: rehearsal.expected.attemptsOf.leg === 'forward' && rehearsal.expected.attemptsOf.step === name ? rehearsal.expected.minAttempts : 1,
            compensationAttempts: rehearsal.expected.attemptsOf.leg === 'compensation' && rehearsal.expected.attemptsOf.step === name ? rehearsal.expected.minAttempts : 0,
          }));
          const status = rehearsal.id === options.wrong ? 'COMPENSATED' : rehearsal.expected.status;
          return Promise.resolve({ status, steps } as unknown as SagaDetail);
        },
        faults: {
          put: (service: string, next: readonly FaultRuleSpec[]) => {
            const kept = rules.get(service) ?? [];
            rules.set(
              service,
              next.map((rule) => kept.find((old) => JSON.stringify({ ...old, fired: 0 }) === JSON.stringify({ ...rule, fired: 0 })) ?? { ...rule, fired: 0 }),
            );
            // A crash rule must be alone with its case's rules on its service.
            for (const [name, list] of rules) {
              const crashers = new Set(list.filter((rule) => rule.mode === 'crash').map((rule) => rule.match));
              const others = new Set(list.filter((rule) => !crashers.has(rule.match)).map((rule) => rule.match));
              if (crashers.size > 1 || (crashers.size === 1 && others.size > 0)) overlaps.push(`${name}: ${JSON.stringify(list)}`);
            }
            return Promise.resolve();
          },
          get: (service: string) => Promise.resolve(rules.get(service) ?? []),
        },
        effects: { judge: () => Promise.resolve({ seen: { thing: 'absent' }, divergences: [] }) },
        now: () => clock,
        sleep: (ms: number) => {
          clock += ms;
          return new Promise<void>((resolve) => setImmediate(resolve));
        },
      };
    },
  };
}

describe('runRehearsal', () => {
  const { cases } = rehearsalPlan(toy);

  it('runs every case with its rules, never a crash case beside another case with rules on the service it kills, and finds every one as expected', async () => {
    const system = fakeSystem();
    const results = await runRehearsal([toy], cases, system.bind(cases), { concurrency: 4, caseTimeoutMs: 10_000, pollMs: 10 });
    expect(results.map((result) => [result.rehearsal.id, result.divergences])).toEqual(cases.map((rehearsal) => [rehearsal.id, []]));
    expect(system.overlaps).toEqual([]);
    expect(system.maxRunning).toBeGreaterThan(1);
  });

  it('reports a saga that ended otherwise, and a crash that did not happen, as divergences', async () => {
    const system = fakeSystem({ wrong: 'Order: Ship × stall', crashLeavesRule: 'Order: Pay × crash' });
    const results = await runRehearsal([toy], cases, system.bind(cases), { concurrency: 3, caseTimeoutMs: 10_000, pollMs: 10 });
    const diverged = Object.fromEntries(results.filter((result) => result.divergences.length > 0).map((result) => [result.rehearsal.id, result.divergences]));
    expect(diverged).toEqual({
      'Order: Ship × stall': ['saga COMPENSATED, expected COMPLETED'],
      'Order: Pay × crash': ['payments never crashed (its crash rule is still there, fired 1×)'],
    });
  });

  it('gives up on a saga that does not end within the case timeout', async () => {
    const system = fakeSystem();
    const one = cases.filter((rehearsal) => rehearsal.id === 'Order: Book × transient');
    const bound = system.bind(one);
    const results = await runRehearsal([toy], one, { ...bound, detail: () => Promise.resolve({ status: 'RUNNING', steps: [] } as unknown as SagaDetail) }, {
      concurrency: 1,
      caseTimeoutMs: 1_000,
      pollMs: 100,
    });
    expect(results[0]!.convergedMs).toBeNull();
    expect(results[0]!.divergences[0]).toBe('did not end within 1 s (RUNNING)');
  });
});
