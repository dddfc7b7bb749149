import { randomUUID } from 'node:crypto';
import type { Envelope } from '@sitesaga/message-kit';
import type { EntityManager } from 'typeorm';
import { type Decision, decide, type SagaCause, type SagaInput } from './decide';
import { type AnySagaDefinition, type OutgoingMessage, type SagaDefinition, scaleTimings } from './define-saga';
import { SagaNotFound, UnknownSagaType } from './errors';
import { type DueDeadline, SagaStore } from './persistence/saga-store';
import { redactSagaData } from './redaction';
import { type HistoryEntry, type HistoryHops, isTerminal, type SagaState } from './saga-state';

/**
 * What the engine needs of a transaction: libs/messaging's unit-of-work `Transaction` has
 * this shape (`publish` writes an outbox row in the same database transaction).
 */
export interface SagaTransaction {
  readonly manager: EntityManager;
  publish(envelope: Envelope): void;
}

export interface SagaEngineOptions {
  /** Multiplies every timeout and backoff of every definition (tests: 0.001 turns 30 s into 30 ms). Default 1. */
  readonly timeScale?: number;
  readonly clock?: () => Date;
  /** Id of each outgoing message (default: random UUIDs). */
  readonly newId?: () => string;
  /** Jitter source in [0, 1) (default: Math.random). */
  readonly random?: () => number;
  /**
   * The messages to send when a saga is set aside (see `quarantine`): its definition may be
   * unknown, so the host says what to tell people (e.g. a `SagaNeedsAttention` event).
   */
  readonly onQuarantined?: (saga: SagaState, quarantine: Quarantine) => readonly OutgoingMessage[];
}

/** Why and where a saga was set aside. */
export interface Quarantine {
  /** The step whose deadline or reply could not be handled, or null for the saga as a whole. */
  readonly step: string | null;
  readonly reason: string;
  /** The message being handled when it happened (null for a deadline): the causation of what is sent. */
  readonly causationId: string | null;
  readonly now: Date;
}

export interface HandleReplyOptions {
  /** See SagaInput: a transient failure then spends no attempt. */
  readonly duringOutage?: boolean;
  /** The reply's hop timings, at the moment it is decided (`now`): recorded with it in the history. */
  readonly hops?: (now: Date) => HistoryHops | null;
  /** Called once the reply has changed the saga (not when ignored), with the state before and after: e.g. for step spans. */
  readonly onDecided?: (previous: SagaState, next: SagaState, now: Date) => void;
}

/** `history` with `hops` on the entry that records the received message `messageId`. */
const withHops = (history: readonly HistoryEntry[], messageId: string, hops: HistoryHops | null): readonly HistoryEntry[] =>
  hops === null ? history : history.map((entry) => (entry.direction === 'in' && entry.messageId === messageId ? { ...entry, hops } : entry));

export interface StartSaga<D> {
  readonly sagaId: string;
  readonly data: D;
  readonly cause: SagaCause;
}

/**
 * Decide-then-act: loads a saga, asks `decide` what to do, saves the result with a
 * version check and queues the outgoing messages on the caller's transaction. Knows no
 * Nest and no Kafka; the host commits (state, history and outbox rows together).
 * Per event: one statement to load, one to save (plus the outbox rows the host writes).
 */
export class SagaEngine {
  private readonly definitions = new Map<string, AnySagaDefinition>();
  private readonly clock: () => Date;

  constructor(
    definitions: readonly AnySagaDefinition[],
    readonly store: SagaStore = new SagaStore(),
    private readonly options: SagaEngineOptions = {},
  ) {
    for (const definition of definitions) {
      if (this.definitions.has(definition.type)) throw new Error(`two saga definitions of type ${definition.type}`);
      this.definitions.set(definition.type, scaleTimings(definition, options.timeScale ?? 1));
    }
    this.clock = options.clock ?? (() => new Date());
  }

  /** The engine's clock. */
  now(): Date {
    return this.clock();
  }

  /** The definition of `type` as this engine runs it (time-scaled). */
  definition(type: string): AnySagaDefinition {
    const definition = this.definitions.get(type);
    if (!definition) throw new UnknownSagaType(type);
    return definition;
  }

  /** Starts a saga: inserts it with its first commands. Throws SagaAlreadyStarted when `sagaId` exists. */
  async start<D>(tx: SagaTransaction, definition: SagaDefinition<D> | string, input: StartSaga<D>): Promise<SagaState<D>> {
    const registered = this.definition(typeof definition === 'string' ? definition : definition.type) as SagaDefinition<D>;
    const decision = decide(registered, null, { kind: 'start', ...input }, this.clock(), this.options);
    const state = await this.store.insert(tx.manager, decision.state, decision.history);
    this.publish(tx, decision);
    return state;
  }

  /**
   * Hands a participant's event to its saga (by `sagaId`). Returns false when no saga
   * matches; a reply the saga was not waiting for is recorded in its history and changes nothing.
   * `duringOutage`: see SagaInput (a transient failure then spends no attempt).
   */
  async handleReply(tx: SagaTransaction, envelope: Envelope, options: HandleReplyOptions = {}): Promise<boolean> {
    const state = await this.store.load(tx.manager, envelope.sagaId);
    if (!state) return false;
    const definition = this.definitions.get(state.type);
    if (!definition) {
      // Its definition is gone (renamed, removed): no reply can ever move it. Set it aside
      // for a person, once; later replies to it are only recorded.
      if (isTerminal(state.status)) {
        const at = this.clock();
        await this.store.appendHistory(tx.manager, state.id, [
          { direction: 'in', topic: null, messageId: envelope.id, type: envelope.type, step: null, at, hops: options.hops?.(at) ?? null },
        ]);
      } else {
        await this.quarantineState(tx, state, { step: null, reason: new UnknownSagaType(state.type).message, causationId: envelope.id, now: this.clock() });
      }
      return true;
    }
    const decided = await this.apply(
      tx,
      definition,
      state,
      { kind: 'reply', envelope, duringOutage: options.duringOutage === true },
      this.clock(),
      (history, now) => (options.hops ? withHops(history, envelope.id, options.hops(now)) : history),
    );
    if (decided.ignored === null) options.onDecided?.(state, decided.state, decided.now);
    return true;
  }

  /**
   * Acts on a passed deadline of `step`. Returns false when it had been moved on meanwhile
   * (nothing done). With `expected` (the deadline as the caller read it), a deadline that
   * changed since is left alone: it is not the one that was found due.
   */
  async fireDeadline(tx: SagaTransaction, sagaId: string, step: string, now: Date = this.clock(), expected?: Date): Promise<boolean> {
    const state = await this.store.load(tx.manager, sagaId);
    if (!state) return false;
    if (expected !== undefined && state.steps.find((candidate) => candidate.name === step)?.deadlineAt?.getTime() !== expected.getTime()) return false;
    const decision = await this.apply(tx, this.definition(state.type), state, { kind: 'deadline', step }, now);
    return decision.ignored === null;
  }

  /**
   * Sets a saga aside that cannot be run (its type or step unknown, its data breaking its
   * contract): FAILED, every deadline cleared, the reason on the step (or the failure), and
   * the host's `onQuarantined` messages sent. Needs no definition. Returns false when the
   * saga does not exist. An operator's retry tries it again once the cause is fixed.
   */
  async quarantine(tx: SagaTransaction, sagaId: string, step: string | null, reason: string, causationId: string | null = null): Promise<boolean> {
    const state = await this.store.load(tx.manager, sagaId);
    if (!state) return false;
    await this.quarantineState(tx, state, { step, reason, causationId, now: this.clock() });
    return true;
  }

  private async quarantineState(tx: SagaTransaction, state: SagaState, quarantine: Quarantine): Promise<void> {
    const reason = quarantine.reason.slice(0, 2000);
    if (isTerminal(state.status)) {
      // Already ended: its outcome stands; only a deadline left behind is cleared.
      const steps = state.steps.map((row) => ({ ...row, deadlineAt: null, deadlineKind: null }));
      const history = [
        { direction: 'in' as const, topic: null, messageId: quarantine.causationId, type: 'Quarantined', step: quarantine.step, at: quarantine.now },
      ];
      await this.store.save(tx.manager, state, { ...state, updatedAt: quarantine.now, steps }, history);
      return;
    }
    const causation = { sagaId: state.id, correlationId: state.correlationId, causationId: quarantine.causationId };
    const outgoing = (this.options.onQuarantined?.(state, { ...quarantine, reason }) ?? []).map((message) => ({
      topic: message.definition.topic,
      envelope: message.definition.create(message.payload, causation, { id: this.options.newId?.() ?? randomUUID(), occurredAt: quarantine.now }),
    }));
    const next: SagaState = {
      ...state,
      status: 'FAILED',
      failure: { failedStep: quarantine.step ?? '(saga)', reason, cause: 'quarantined', stuck: state.failure?.stuck ?? [] },
      updatedAt: quarantine.now,
      steps: state.steps.map((row) => ({
        ...row,
        deadlineAt: null,
        deadlineKind: null,
        error: row.name === quarantine.step ? `quarantined: ${reason}` : row.error,
      })),
    };
    const history = [
      { direction: 'in' as const, topic: null, messageId: quarantine.causationId, type: 'Quarantined', step: quarantine.step, at: quarantine.now },
      ...outgoing.map(({ topic, envelope }) => ({
        direction: 'out' as const,
        topic,
        messageId: envelope.id,
        type: envelope.type,
        step: null,
        at: quarantine.now,
      })),
    ];
    await this.store.save(tx.manager, state, next, history);
    for (const { envelope } of outgoing) tx.publish(envelope);
  }

  /** Operator: re-send what a RUNNING or COMPENSATING saga waits for; resume a FAILED saga's compensations. */
  async retry(tx: SagaTransaction, sagaId: string, requestId?: string): Promise<SagaState> {
    const state = await this.loadExisting(tx, sagaId);
    return (await this.apply(tx, this.definition(state.type), state, { kind: 'retry', requestId: requestId ?? null }, this.clock())).state;
  }

  /** Operator: compensate a RUNNING saga. */
  async abort(tx: SagaTransaction, sagaId: string, reason: string, requestId?: string): Promise<SagaState> {
    const state = await this.loadExisting(tx, sagaId);
    return (await this.apply(tx, this.definition(state.type), state, { kind: 'abort', reason, requestId: requestId ?? null }, this.clock())).state;
  }

  /** Steps whose deadline passed: the host's timer calls `fireDeadline` for each, one transaction each. */
  /** The earliest deadline any step waits for (a lower bound of the next due one), or null. */
  nextDeadline(manager: EntityManager): Promise<Date | null> {
    return this.store.nextDeadline(manager);
  }

  dueDeadlines(manager: EntityManager, limit: number, now: Date = this.clock()): Promise<DueDeadline[]> {
    return this.store.dueDeadlines(manager, now, limit);
  }

  /** After a plumbing outage: every step waiting for a reply gets more time (see SagaStore). */
  postponeReplyDeadlines(manager: EntityManager, postponement: { outageMs: number; since: Date; recoveryMs?: number }): Promise<number> {
    return this.store.postponeReplyDeadlines(manager, postponement);
  }

  /** The saga's data with the definition's secret keys redacted, for people. */
  redactedData(state: SagaState): unknown {
    return redactSagaData(this.definitions.get(state.type) ?? { redact: [] }, state.data);
  }

  private async apply<D>(
    tx: SagaTransaction,
    definition: SagaDefinition<D>,
    state: SagaState<D>,
    input: SagaInput<D>,
    now: Date,
    annotate?: (history: readonly HistoryEntry[], now: Date) => readonly HistoryEntry[],
  ): Promise<Decision<D> & { readonly now: Date }> {
    const decision = decide(definition, state, input, now, this.options);
    const history = annotate ? annotate(decision.history, now) : decision.history;
    if (decision.ignored !== null) {
      await this.store.appendHistory(tx.manager, state.id, history);
      return { ...decision, now };
    }
    const saved = await this.store.save(tx.manager, state, decision.state, history);
    this.publish(tx, decision);
    return { ...decision, state: saved, now };
  }

  private publish(tx: SagaTransaction, decision: Decision<unknown>): void {
    for (const envelope of decision.outgoing) tx.publish(envelope);
  }

  private async loadExisting(tx: SagaTransaction, sagaId: string): Promise<SagaState> {
    const state = await this.store.load(tx.manager, sagaId);
    if (!state) throw new SagaNotFound(sagaId);
    return state;
  }
}
