import type { MessageHops, SagaDetail, SagaSummary, SagaStatus as ApiSagaStatus, StepWaits, stepState, z } from '@sitesaga/http-contracts';
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

/**
 * Each message's hops: a reply's (or any received message's) as the orchestrator measured
 * them; a command's as its participant measured them, carried back by the reply it caused.
 */
export function hopsByEntry(history: readonly StoredHistoryEntry[]): (MessageHops | null)[] {
  const ofCommand = new Map<string, MessageHops>();
  for (const entry of history) {
    const cause = entry.hops?.cause;
    if (cause) ofCommand.set(cause.messageId, { outboxMs: cause.outboxMs, brokerMs: cause.brokerMs, handlerMs: cause.handlerMs });
  }
  return history.map((entry) => {
    if (entry.direction === 'out') return (entry.messageId !== null ? ofCommand.get(entry.messageId) : undefined) ?? null;
    const hops = entry.hops;
    return hops ? { outboxMs: hops.outboxMs, brokerMs: hops.brokerMs, handlerMs: hops.handlerMs } : null;
  });
}

/**
 * A finished step's duration split by who it waited on, from the reply that ended it
 * (the last reply of the step received by its finish, with its command's legs): Kafka
 * (both messages on the broker), the participant (handling, then its outbox), and the
 * orchestrator (the rest: deciding, committing, publishing, earlier attempts). Null when
 * a leg is unknown.
 */
export function stepWaitsOf(step: SagaState['steps'][number], history: readonly StoredHistoryEntry[]): StepWaits | null {
  if (!step.startedAt || !step.finishedAt) return null;
  const durationMs = step.finishedAt.getTime() - step.startedAt.getTime();
  const finished = step.finishedAt.getTime();
  for (let index = history.length - 1; index >= 0; index--) {
    const entry = history[index]!;
    if (entry.direction !== 'in' || entry.step !== step.name || entry.at.getTime() > finished || !entry.hops) continue;
    const { cause, outboxMs, brokerMs } = entry.hops;
    if (!cause || outboxMs === null || brokerMs === null) return null;
    const kafkaMs = cause.brokerMs + brokerMs;
    const participantMs = cause.handlerMs + outboxMs;
    return { kafkaMs, participantMs, orchestratorMs: Math.max(0, durationMs - kafkaMs - participantMs) };
  }
  return null;
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
  const hops = hopsByEntry(history);
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
      waits: stepWaitsOf(step, history),
    })),
    history: history.map((entry, index) => ({
      direction: entry.direction,
      topic: entry.topic,
      messageId: entry.messageId,
      type: entry.type,
      at: entry.at.toISOString(),
      step: entry.step,
      hops: hops[index] ?? null,
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
