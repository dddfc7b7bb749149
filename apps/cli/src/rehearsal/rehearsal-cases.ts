import type { DefinitionCommand, DefinitionStepView, SagaDefinitionView } from '@sitesaga/http-contracts';

/**
 * The fault cases of a saga, derived from its definition alone (`GET /admin/definitions`):
 * every step × {business failure, transient failure then success, stall past its deadline,
 * crash of its service mid-command}, and every compensation × the same (a later step
 * refused so that the compensation runs). Each case says which fault rules to put on which
 * service and what the saga must end as: its status, every step's end state and whether
 * its effect is left behind. Pure: no I/O, no clock.
 *
 * The expectations follow the engine's rules (libs/saga decide.ts): a refused step did
 * nothing and is not undone; a sibling still running when its stage fails may have taken
 * effect and is undone; compensations retry failures of either class until their attempts
 * run out, then the saga stops FAILED without undoing earlier stages.
 */

export const FAULT_KINDS = ['business', 'transient', 'stall', 'crash'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** A fault rule for one case (the runner adds `match`: the case's own subject, so no other case is hit). */
export interface CaseFault {
  readonly service: string;
  readonly command: string;
  readonly mode: 'fail' | 'transient' | 'stall' | 'crash';
  /** Only the first N commands (the retry goes through); absent: every one. */
  readonly times?: number;
  /** The fault the case is about (not the refusal that sets up a compensation case). */
  readonly rehearsed: boolean;
}

export type StepEnd = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'COMPENSATING' | 'COMPENSATED' | 'SKIPPED';
export type SagaEnd = 'COMPLETED' | 'COMPENSATED' | 'FAILED';

/** A step's forward effect at the end: in place, not there (never done, refused or undone), or either (sent with no answer and nothing to undo it). */
export type EffectLeft = 'kept' | 'none' | 'maybe';

export interface ExpectedStep {
  /** Any of these end states is right. */
  readonly states: readonly StepEnd[];
  readonly effect: EffectLeft;
}

export interface RehearsalCase {
  /** `CreateSite: ProvisionStorage × stall`, `CreateSite: undo DeprovisionStorage (ProvisionStorage) × crash`. */
  readonly id: string;
  readonly sagaType: string;
  readonly kind: FaultKind;
  readonly leg: 'forward' | 'compensation';
  /** The step whose command (forward) or compensation is faulted. */
  readonly step: string;
  readonly command: DefinitionCommand;
  /** For a compensation case: the later step refused so that compensation runs. */
  readonly trigger: string | null;
  readonly faults: readonly CaseFault[];
  readonly expected: {
    readonly status: SagaEnd;
    readonly steps: Readonly<Record<string, ExpectedStep>>;
    /** The faulted leg must have been sent at least this often (a retry proves a transient or stall fault was felt). */
    readonly minAttempts: number;
    /** The step whose attempts `minAttempts` counts: its forward attempts or its compensation attempts. */
    readonly attemptsOf: { readonly step: string; readonly leg: 'forward' | 'compensation' };
  };
  /** Services whose fault rules the case owns while it runs. */
  readonly services: readonly string[];
  /** The service this case kills (its in-memory rules die with it): runs alone among cases with rules there. */
  readonly crashes: string | null;
}

/** A case the definition cannot give, and why (e.g. a compensation with no later step to refuse). */
export interface SkippedCase {
  readonly id: string;
  readonly reason: string;
}

export interface RehearsalPlan {
  readonly sagaType: string;
  readonly cases: readonly RehearsalCase[];
  readonly skipped: readonly SkippedCase[];
}

const MODE_OF: Record<FaultKind, CaseFault['mode']> = { business: 'fail', transient: 'transient', stall: 'stall', crash: 'crash' };

const stepsOf = (definition: SagaDefinitionView): DefinitionStepView[] => definition.stages.flatMap((stage) => stage.steps);

/** The end of every step when `failed` is refused (business) and compensation runs to its end. */
function compensatedAround(definition: SagaDefinitionView, failed: DefinitionStepView): Record<string, ExpectedStep> {
  const steps: Record<string, ExpectedStep> = {};
  for (const step of stepsOf(definition)) {
    if (step.name === failed.name) steps[step.name] = { states: ['FAILED'], effect: 'none' };
    else if (step.position > failed.position) steps[step.name] = { states: ['SKIPPED'], effect: 'none' };
    else if (step.compensation) steps[step.name] = { states: ['COMPENSATED'], effect: 'none' };
    else if (step.position === failed.position) {
      // A sibling with no undo: done before the refusal, or still out (FAILED, may have taken effect).
      steps[step.name] = { states: ['SUCCEEDED', 'FAILED'], effect: 'maybe' };
    } else steps[step.name] = { states: ['SUCCEEDED'], effect: 'kept' };
  }
  return steps;
}

const allSucceeded = (definition: SagaDefinitionView): Record<string, ExpectedStep> =>
  Object.fromEntries(stepsOf(definition).map((step) => [step.name, { states: ['SUCCEEDED'], effect: 'kept' } satisfies ExpectedStep]));

/** The step refused to make `step`'s compensation run: the first step of the next stage, else a sibling. */
function triggerFor(definition: SagaDefinitionView, step: DefinitionStepView): DefinitionStepView | null {
  const later = stepsOf(definition).filter((candidate) => candidate.position > step.position);
  const next = later.length > 0 ? Math.min(...later.map((candidate) => candidate.position)) : null;
  if (next !== null) return later.find((candidate) => candidate.position === next) ?? null;
  return stepsOf(definition).find((candidate) => candidate.position === step.position && candidate.name !== step.name) ?? null;
}

const servicesOf = (faults: readonly CaseFault[]): string[] => [...new Set(faults.map((fault) => fault.service))];

function forwardCase(definition: SagaDefinitionView, step: DefinitionStepView, kind: FaultKind): RehearsalCase | SkippedCase {
  const id = `${definition.type}: ${step.name} × ${kind}`;
  const retried = kind === 'transient' || kind === 'stall';
  if (retried && step.retry.maxAttempts < 2) return { id, reason: `${step.name} has one attempt: no retry to rehearse` };
  const faults: CaseFault[] = [
    { service: step.command.service, command: step.command.type, mode: MODE_OF[kind], ...(kind === 'business' ? {} : { times: 1 }), rehearsed: true },
  ];
  return {
    id,
    sagaType: definition.type,
    kind,
    leg: 'forward',
    step: step.name,
    command: step.command,
    trigger: null,
    faults,
    expected: {
      status: kind === 'business' ? 'COMPENSATED' : 'COMPLETED',
      steps: kind === 'business' ? compensatedAround(definition, step) : allSucceeded(definition),
      minAttempts: retried ? 2 : 1,
      attemptsOf: { step: step.name, leg: 'forward' },
    },
    services: servicesOf(faults),
    crashes: kind === 'crash' ? step.command.service : null,
  };
}

function compensationCase(definition: SagaDefinitionView, step: DefinitionStepView, kind: FaultKind): RehearsalCase | SkippedCase | null {
  const compensation = step.compensation;
  if (!compensation) return null;
  const id = `${definition.type}: undo ${compensation.command.type} (${step.name}) × ${kind}`;
  const trigger = triggerFor(definition, step);
  if (!trigger) return { id, reason: `no other step can be refused to make ${step.name} compensate` };
  const retried = kind !== 'crash';
  if (compensation.retry.maxAttempts < 2 && kind !== 'business' && kind !== 'crash') {
    return { id, reason: `${compensation.command.type} has one attempt: no retry to rehearse` };
  }
  const faults: CaseFault[] = [
    { service: trigger.command.service, command: trigger.command.type, mode: 'fail', rehearsed: false },
    {
      service: compensation.command.service,
      command: compensation.command.type,
      mode: MODE_OF[kind],
      ...(kind === 'business' ? {} : { times: 1 }),
      rehearsed: true,
    },
  ];
  const around = compensatedAround(definition, trigger);
  let status: SagaEnd = 'COMPENSATED';
  if (kind === 'business') {
    // Refused on every attempt: the compensation gives up, the saga stops FAILED and leaves
    // the earlier stages as they are (undoing them first would break reverse order).
    status = 'FAILED';
    around[step.name] = { states: ['FAILED'], effect: 'kept' };
    for (const other of stepsOf(definition)) {
      if (other.position < step.position && other.compensation) around[other.name] = { states: ['SUCCEEDED'], effect: 'kept' };
    }
  }
  return {
    id,
    sagaType: definition.type,
    kind,
    leg: 'compensation',
    step: step.name,
    command: compensation.command,
    trigger: trigger.name,
    faults,
    expected: {
      status,
      steps: around,
      // A refusal is retried until attempts run out; transient and stall once, then the retry goes through.
      minAttempts: kind === 'business' ? compensation.retry.maxAttempts : retried ? 2 : 1,
      attemptsOf: { step: step.name, leg: 'compensation' },
    },
    services: servicesOf(faults),
    crashes: kind === 'crash' ? compensation.command.service : null,
  };
}

const isSkipped = (value: RehearsalCase | SkippedCase): value is SkippedCase => 'reason' in value;

/** Every case of one saga, forward steps first (in stage order), then compensations. */
export function rehearsalPlan(definition: SagaDefinitionView, kinds: readonly FaultKind[] = FAULT_KINDS): RehearsalPlan {
  const all: (RehearsalCase | SkippedCase)[] = [];
  for (const step of stepsOf(definition)) for (const kind of kinds) all.push(forwardCase(definition, step, kind));
  for (const step of stepsOf(definition)) {
    for (const kind of kinds) {
      const built = compensationCase(definition, step, kind);
      if (built) all.push(built);
    }
  }
  return { sagaType: definition.type, cases: all.filter((item): item is RehearsalCase => !isSkipped(item)), skipped: all.filter(isSkipped) };
}

/** What `expected` reads as in one line: `COMPENSATED; ReserveSite COMPENSATED, ProvisionStorage FAILED, …`. */
export function describeExpectation(rehearsal: RehearsalCase): string {
  const steps = Object.entries(rehearsal.expected.steps).map(([name, step]) => `${name} ${step.states.join('|')}`);
  return `${rehearsal.expected.status}; ${steps.join(', ')}`;
}
