import type { SagaDetail, SagaSummary, SagaStatus as ApiSagaStatus, stepState, z } from '@sitesaga/http-contracts';
import { isTerminal, REDACTED, type SagaState, type SagaStatus, type StepState, type StoredHistoryEntry } from '@sitesaga/saga';

export type { HistoryView, SagaDetail, SagaSummary, StepView } from '@sitesaga/http-contracts';

// The admin API's statuses are the engine's: a compile error here when one side changes alone.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const statusesAgree: Same<SagaStatus, ApiSagaStatus> & Same<StepState['state'], z.infer<typeof stepState>> = true;
void statusesAgree;

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

/** `versionDeployed`: whether this orchestrator runs the definition version the saga started on. */
export function summaryOf(state: SagaState, versionDeployed = true): SagaSummary {
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
    definitionVersion: state.definitionVersion,
    versionDeployed,
    waitingFor: state.waitingFor,
  };
}

/** `stepOrder`: the definition's step names, so steps read as the saga is written (the store keeps them by stage and name). */
export function detailOf(
  state: SagaState,
  redactedData: unknown,
  history: readonly StoredHistoryEntry[],
  historyTruncated: boolean,
  stepOrder: readonly string[] = [],
  versionDeployed = true,
): SagaDetail {
  const summary = summaryOf(state, versionDeployed);
  const rank = (name: string): number => (stepOrder.includes(name) ? stepOrder.indexOf(name) : stepOrder.length);
  const steps = [...state.steps].sort((left, right) => left.position - right.position || rank(left.name) - rank(right.name));
  return {
    id: state.id,
    type: state.type,
    status: state.status,
    version: state.version,
    input: redactSecrets(redactedData) as SagaDetail['input'],
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
    failure: state.failure ? { ...state.failure, stuck: [...state.failure.stuck] } : null,
    stageCount: state.steps.reduce((count, step) => Math.max(count, step.position + 1), 0),
    actions: versionDeployed ? allowedActions(state.status) : { retry: false, abort: false },
    historyTruncated,
    definitionVersion: state.definitionVersion,
    versionDeployed,
    waitingFor: state.waitingFor,
  };
}
