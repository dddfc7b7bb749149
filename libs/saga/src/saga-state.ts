/** Saga states (SPEC.md, "The create-site saga"). */
export const SAGA_STATUSES = ['RUNNING', 'COMPENSATING', 'COMPLETED', 'COMPENSATED', 'FAILED'] as const;
export type SagaStatus = (typeof SAGA_STATUSES)[number];

/** Step states (SPEC.md). FAILED is either a forward failure or a compensation that ran out of attempts (`compensationAttempts > 0`). */
export const STEP_STATES = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'COMPENSATING', 'COMPENSATED', 'SKIPPED'] as const;
export type StepStateName = (typeof STEP_STATES)[number];

/**
 * What a step's `deadlineAt` means: `reply` = the reply to the last send is due by then;
 * `resend` = the step is backing off and its command is sent again then.
 */
export type DeadlineKind = 'reply' | 'resend';

export interface StepState {
  readonly name: string;
  /** Index of the step's stage in the definition: steps of one parallel group share it. */
  readonly position: number;
  readonly state: StepStateName;
  /** Sends of the step's command that count against its budget (an operator's retry starts a fresh count; a send failed by an outage is not counted). */
  readonly attempts: number;
  readonly compensationAttempts: number;
  /** Its command was sent and no definitive answer came: compensated as if it succeeded. */
  readonly mayHaveTakenEffect: boolean;
  readonly deadlineAt: Date | null;
  readonly deadlineKind: DeadlineKind | null;
  /** Id of the last command (or compensation) sent for this step: the causation of its reply. */
  readonly lastMessageId: string | null;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly error: string | null;
}

/** A step not started yet: how every step of a new saga begins. */
export const pendingStep = (name: string, position: number): StepState => ({
  name,
  position,
  state: 'PENDING',
  attempts: 0,
  compensationAttempts: 0,
  mayHaveTakenEffect: false,
  deadlineAt: null,
  deadlineKind: null,
  lastMessageId: null,
  startedAt: null,
  finishedAt: null,
  error: null,
});

/** Why a saga left RUNNING, kept on the instance for operators and for the outcome hooks. */
export interface SagaFailure {
  /** The step that failed (for an abort: the step that was running). */
  readonly failedStep: string;
  readonly reason: string;
  /**
   * `business`: refused; `exhausted`: attempts spent; `aborted`: operator; `quarantined`:
   * the saga could not be run at all (its type or step is unknown, or its data breaks its
   * contract), so it was set aside for a person instead of blocking the others.
   */
  readonly cause: 'business' | 'exhausted' | 'aborted' | 'quarantined';
  /** Steps that ran out of attempts (saga FAILED): compensations, or forward steps of a saga that stops when exhausted; empty once retried. */
  readonly stuck: readonly { readonly step: string; readonly reason: string }[];
  /** The fields a business refusal was about (the failure event's `reasons`), for the outcome hooks. */
  readonly reasons?: readonly { readonly field: string; readonly message: string }[];
}

export interface SagaState<D = unknown> {
  readonly id: string;
  readonly type: string;
  readonly status: SagaStatus;
  /** Optimistic concurrency: bumped by every save; the store refuses a save from a stale version. */
  readonly version: number;
  /** The version of its definition it started on (and runs on to its end): see SagaSpec.version. */
  readonly definitionVersion: number;
  /**
   * The saga that holds the exclusion key this one waits for (it has not begun: every step
   * PENDING), or null. Read from the exclusion tables; never written through `save`.
   */
  readonly waitingFor: string | null;
  readonly data: D;
  readonly failure: SagaFailure | null;
  readonly correlationId: string;
  /** A filterable value taken from data by the definition's `searchKey` (e.g. the site name). */
  readonly searchKey: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** One per step of the definition, in definition order. */
  readonly steps: readonly StepState[];
}

/** One message in or out of a saga, as the admin timeline shows it. */
export interface HistoryEntry {
  readonly direction: 'in' | 'out';
  /** Null for inputs that are not messages (a deadline, an operator's retry or abort). */
  readonly topic: string | null;
  readonly messageId: string | null;
  /** The message type, or `DeadlinePassed`, `RetryRequested`, `AbortRequested`. */
  readonly type: string;
  /** The step the message belongs to, when it belongs to one. */
  readonly step: string | null;
  readonly at: Date;
  /** Where a received message spent its time, and where its cause did (see HistoryHops); absent when unknown. */
  readonly hops?: HistoryHops | null;
}

/** The legs of one message, in whole ms (libs/messaging, observability/hops.ts). */
export interface HopLegs {
  /** Sender's outbox: row written at its commit → produced by its relay. */
  readonly outboxMs: number;
  /** Kafka: produced → fetched by the receiver. */
  readonly brokerMs: number;
  /** Receiver: fetched → it committed what the message caused (the orchestrator: → it decided). */
  readonly handlerMs: number;
}

/**
 * Per-hop timing recorded with a received message: its own legs as this side measured
 * them (null when a header was missing or implausible), and the legs of the command that
 * caused it as the participant measured them (carried back in the reply's headers).
 */
export interface HistoryHops {
  readonly outboxMs: number | null;
  readonly brokerMs: number | null;
  readonly handlerMs: number | null;
  readonly cause: (HopLegs & { readonly messageId: string }) | null;
}

export const isTerminal = (status: SagaStatus): boolean => status === 'COMPLETED' || status === 'COMPENSATED' || status === 'FAILED';
