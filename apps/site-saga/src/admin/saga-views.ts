import { isTerminal, REDACTED, type SagaState, type SagaStatus, type StepState, type StoredHistoryEntry } from '@sitesaga/saga';

/** One row of the admin list and one SSE `saga` event. */
export interface SagaSummary {
  readonly id: string;
  readonly type: string;
  readonly status: SagaStatus;
  readonly version: number;
  readonly siteName: string | null;
  readonly siteId: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The step(s) the saga waits on (forward or compensating); several for a parallel group, comma-separated. */
  readonly currentStep: string | null;
  readonly failedStep?: string;
}

export interface StepView {
  readonly name: string;
  readonly state: StepState['state'];
  readonly attempts: number;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly error: string | null;
  /** Stage index: the steps of one parallel group share it. */
  readonly position: number;
  readonly compensationAttempts: number;
  readonly mayHaveTakenEffect: boolean;
  readonly deadlineAt: string | null;
  readonly deadlineKind: StepState['deadlineKind'];
  readonly durationMs: number | null;
}

export interface HistoryView {
  readonly direction: 'in' | 'out';
  readonly topic: string | null;
  readonly messageId: string | null;
  readonly type: string;
  readonly at: string;
  readonly step: string | null;
}

/** `GET /admin/sagas/:id`: SPEC.md's shape plus what an operator needs to act. */
export interface SagaDetail {
  readonly id: string;
  readonly type: string;
  readonly status: SagaStatus;
  readonly version: number;
  readonly input: unknown;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly steps: readonly StepView[];
  readonly history: readonly HistoryView[];
  readonly siteName: string | null;
  readonly siteId: string | null;
  readonly correlationId: string;
  readonly failure: SagaState['failure'];
  /** Number of stages; steps sharing a `position` ran in parallel. */
  readonly stageCount: number;
  /** Which operator actions the saga's status allows. */
  readonly actions: { readonly retry: boolean; readonly abort: boolean };
  /** True when the history had more entries than the response carries. */
  readonly historyTruncated: boolean;
}

/**
 * Defence in depth on top of the definition's own `redact` list: any key that looks like
 * a secret is hidden too, whatever the definition says.
 */
const SECRET_KEY = /passw(or)?d|passphrase|credential|secret|token|authori[sz]ation|connection.?string|private.?key/i;

export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, SECRET_KEY.test(key) ? REDACTED : redactSecrets(inner)]));
}

const iso = (value: Date | null): string | null => value?.toISOString() ?? null;

export const allowedActions = (status: SagaStatus): { retry: boolean; abort: boolean } => ({
  // The engine's rules: retry re-sends what a live saga waits for or resumes a FAILED one; abort compensates a RUNNING one.
  retry: !isTerminal(status) || status === 'FAILED',
  abort: status === 'RUNNING',
});

const siteIdOf = (data: unknown): string | null => {
  const siteId = typeof data === 'object' && data !== null ? (data as { siteId?: unknown }).siteId : undefined;
  return typeof siteId === 'string' ? siteId : null;
};

export function summaryOf(state: SagaState): SagaSummary {
  // By stage, then name: the same order the list query gives.
  const active = state.steps
    .filter((step) => step.state === 'RUNNING' || step.state === 'COMPENSATING')
    .sort((left, right) => left.position - right.position || (left.name < right.name ? -1 : left.name > right.name ? 1 : 0))
    .map((step) => step.name);
  return {
    id: state.id,
    type: state.type,
    status: state.status,
    version: state.version,
    siteName: state.searchKey,
    siteId: siteIdOf(state.data),
    createdAt: state.createdAt.toISOString(),
    updatedAt: state.updatedAt.toISOString(),
    currentStep: active.length > 0 ? active.join(', ') : null,
    ...(state.failure ? { failedStep: state.failure.failedStep } : {}),
  };
}

/** `stepOrder`: the definition's step names, so steps read as the saga is written (the store keeps them by stage and name). */
export function detailOf(
  state: SagaState,
  redactedData: unknown,
  history: readonly StoredHistoryEntry[],
  historyTruncated: boolean,
  stepOrder: readonly string[] = [],
): SagaDetail {
  const summary = summaryOf(state);
  const rank = (name: string): number => (stepOrder.includes(name) ? stepOrder.indexOf(name) : stepOrder.length);
  const steps = [...state.steps].sort((left, right) => left.position - right.position || rank(left.name) - rank(right.name));
  return {
    id: state.id,
    type: state.type,
    status: state.status,
    version: state.version,
    input: redactSecrets(redactedData),
    createdAt: summary.createdAt,
    updatedAt: summary.updatedAt,
    steps: steps.map((step) => ({
      name: step.name,
      state: step.state,
      attempts: step.attempts,
      startedAt: iso(step.startedAt),
      finishedAt: iso(step.finishedAt),
      error: step.error,
      position: step.position,
      compensationAttempts: step.compensationAttempts,
      mayHaveTakenEffect: step.mayHaveTakenEffect,
      deadlineAt: iso(step.deadlineAt),
      deadlineKind: step.deadlineKind,
      durationMs: step.startedAt && step.finishedAt ? step.finishedAt.getTime() - step.startedAt.getTime() : null,
    })),
    history: history.map((entry) => ({
      direction: entry.direction,
      topic: entry.topic,
      messageId: entry.messageId,
      type: entry.type,
      at: entry.at.toISOString(),
      step: entry.step,
    })),
    siteName: summary.siteName,
    siteId: summary.siteId,
    correlationId: state.correlationId,
    failure: state.failure,
    stageCount: state.steps.reduce((count, step) => Math.max(count, step.position + 1), 0),
    actions: allowedActions(state.status),
    historyTruncated,
  };
}
