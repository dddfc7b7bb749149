import { isTerminal, type SagaState, type SagaStatus } from '@sitesaga/saga';

/**
 * How a step ended. Forward legs end SUCCEEDED or FAILED (a refusal, attempts spent, or
 * given up because a sibling failed); compensations end COMPENSATED, or
 * COMPENSATION_FAILED when they ran out of attempts (the saga is then FAILED, flagged).
 */
export type StepOutcome = 'SUCCEEDED' | 'FAILED' | 'COMPENSATED' | 'COMPENSATION_FAILED';

export interface FinishedStep {
  readonly name: string;
  readonly leg: 'forward' | 'compensation';
  readonly outcome: StepOutcome;
  /** Forward legs: first send of the command (retries included). Compensations: unknown here (see `SagaMetrics`). */
  readonly startedAt: Date | null;
  readonly finishedAt: Date;
}

/** What one saved change of a saga did, as far as the metrics care. */
export interface SagaObservations {
  readonly sagaId: string;
  readonly sagaType: string;
  /** The saga's version after the change: a later load at this version proves it committed. */
  readonly version: number;
  readonly at: Date;
  readonly finishedSteps: readonly FinishedStep[];
  /** Steps whose compensation was sent in this change (the start of their compensation leg). */
  readonly compensationsStarted: readonly string[];
  /** Set when the saga reached COMPLETED, COMPENSATED or FAILED in this change. */
  readonly finished: { readonly status: SagaStatus; readonly seconds: number } | null;
}

/** Pure: compares a saga before and after one saved change. */
export function observationsOf(previous: SagaState, next: SagaState): SagaObservations {
  const finishedSteps: FinishedStep[] = [];
  const compensationsStarted: string[] = [];
  for (const step of next.steps) {
    const before = previous.steps.find((candidate) => candidate.name === step.name);
    if (step.state === 'COMPENSATING' && before?.state !== 'COMPENSATING') compensationsStarted.push(step.name);
    if (step.finishedAt === null) continue;
    if (before?.state === 'RUNNING' && step.state !== 'RUNNING') {
      // The forward leg ended. A step given up (attempts spent, a sibling failed, an abort)
      // may already be COMPENSATING in the same change: its forward leg still FAILED.
      finishedSteps.push({ name: step.name, leg: 'forward', outcome: step.state === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED', startedAt: step.startedAt, finishedAt: step.finishedAt });
    } else if (before?.state === 'COMPENSATING' && (step.state === 'COMPENSATED' || step.state === 'FAILED')) {
      finishedSteps.push({ name: step.name, leg: 'compensation', outcome: step.state === 'COMPENSATED' ? 'COMPENSATED' : 'COMPENSATION_FAILED', startedAt: null, finishedAt: step.finishedAt });
    }
  }
  const finished = isTerminal(next.status) && !isTerminal(previous.status);
  return {
    sagaId: next.id,
    sagaType: next.type,
    version: next.version,
    at: next.updatedAt,
    finishedSteps,
    compensationsStarted,
    finished: finished ? { status: next.status, seconds: Math.max(0, (next.updatedAt.getTime() - next.createdAt.getTime()) / 1000) } : null,
  };
}

export const isEmpty = (observations: SagaObservations): boolean =>
  observations.finishedSteps.length === 0 && observations.compensationsStarted.length === 0 && observations.finished === null;
