import { randomUUID } from 'node:crypto';
import type { Envelope } from '@sitesaga/message-kit';
import type { EntityManager } from 'typeorm';
import { type Decision, decide, type SagaCause, type SagaInput } from './decide';
import { type AnySagaDefinition, type OutgoingMessage, type SagaDefinition, scaleTimings } from './define-saga';
import { SagaAlreadyStarted, SagaNotFound, SagaVersionNotDeployed, UnknownSagaType } from './errors';
import { type DeferredSagaWrite, type Deployment, type DueDeadline, SagaStore } from './persistence/saga-store';
import { redactSagaData } from './redaction';
import { type HistoryEntry, type HistoryHops, isTerminal, type SagaState } from './saga-state';

/**
 * What the engine needs of a transaction: libs/messaging's unit-of-work `Transaction` has
 * this shape (`publish` writes an outbox row in the same database transaction).
 */
export interface SagaTransaction {
  readonly manager: EntityManager;
  publish(envelope: Envelope): void;
  /**
   * Shared by every handler of the database transaction (libs/messaging's `Transaction.shared`):
   * the engine keeps there each saga as this transaction last wrote it (or as `sagaPreload`
   * read it with BEGIN), so a second message of the same saga in a batch needs no SELECT.
   */
  readonly shared?: Map<string, unknown>;
  /** Runs a write with the COMMIT (libs/messaging's `Transaction.defer`): saves then cost no round trip of their own. */
  defer?(write: DeferredSagaWrite): void;
  /**
   * libs/messaging's `Transaction.speculative`: a deferred write that fails makes the
   * message run again the usual way. Exclusion keys are then claimed and released by
   * deferred writes that fail unless the key was free (claim) or nobody waits (release).
   */
  readonly speculative?: boolean;
}

/** A transaction that runs its message again the usual way when a deferred check fails (SagaTransaction.speculative). */
const speculating = (tx: SagaTransaction): tx is SagaTransaction & { defer(write: DeferredSagaWrite): void } => tx.speculative === true && tx.defer !== undefined;

const SAGA_KEY_PREFIX = 'saga:';

/** Where a transaction's shared map holds saga `id`. */
const sagaKey = (id: string): string => `${SAGA_KEY_PREFIX}${id.toLowerCase()}`;

/** Sagas a preload remembers (see `sagaPreload`): far more than run at once. */
const REMEMBERED_SAGAS = 2_000;

/**
 * A unit-of-work preload (libs/messaging's `Preload`) that reads the sagas of a batch's
 * messages with its BEGIN, in one statement: the engine then finds them in the transaction's
 * shared map instead of loading each one in a round trip of its own.
 *
 * It also remembers, up to REMEMBERED_SAGAS of them, the running sagas as this process last
 * committed them (`recall`): a reply to one of them then needs no read at all, and its
 * unit of work is one round trip. Every save is version-checked, so a saga another process
 * (a replica after a rebalance, an operator's request served elsewhere) changed since fails
 * its commit and is read again. Ended sagas and sagas waiting for an exclusion key (whose
 * holder other sagas' transactions change) are not remembered.
 */
export function sagaPreload(
  store: SagaStore,
  options: {
    /**
     * Types of the messages that start a saga (a client's CreateSite): they need nothing
     * read either. A start checks that its saga id is new with its deferred insert, which
     * fails the commit when it is not; the message then runs again the usual way.
     */
    readonly starts?: readonly string[];
  } = {},
): {
  sql(causes: readonly Envelope[]): string | null;
  accept(rows: readonly Record<string, unknown>[], causes: readonly Envelope[], shared: Map<string, unknown>): void;
  recall(causes: readonly Envelope[], shared: Map<string, unknown>): boolean;
  committed(shared: ReadonlyMap<string, unknown>): void;
  forget(causes: readonly Envelope[], shared: ReadonlyMap<string, unknown>): void;
} {
  /** Saga key → state as committed; Map order is recency (oldest first). */
  const remembered = new Map<string, SagaState>();
  const starts = new Set(options.starts ?? []);
  return {
    sql: (causes) => store.loadManySql(causes.map((cause) => cause.sagaId)),
    accept: (rows, _causes, shared) => {
      for (const row of rows) {
        const state = store.fromLoadedRow(row);
        shared.set(sagaKey(state.id), state);
      }
    },
    recall: (causes, shared) => {
      if (causes.length === 0) return false;
      for (const cause of causes) {
        const state = remembered.get(sagaKey(cause.sagaId));
        if (state) shared.set(sagaKey(state.id), state);
        else if (!starts.has(cause.type)) return false;
      }
      return true;
    },
    committed: (shared) => {
      for (const [key, value] of shared) {
        if (!key.startsWith(SAGA_KEY_PREFIX)) continue;
        const state = value as SagaState;
        remembered.delete(key);
        if (isTerminal(state.status) || state.waitingFor !== null) continue;
        remembered.set(key, store.asStored(state));
      }
      for (const key of remembered.keys()) {
        if (remembered.size <= REMEMBERED_SAGAS) break;
        remembered.delete(key);
      }
    },
    forget: (causes, shared) => {
      for (const cause of causes) remembered.delete(sagaKey(cause.sagaId));
      for (const key of shared.keys()) remembered.delete(key);
    },
  };
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
  /**
   * Told (inside the transaction) when a reply is parked because its saga's definition
   * version is not deployed, or a saga handed an exclusion key cannot begin for that reason:
   * the host logs it (docs/adr/0007).
   */
  readonly onUndeployed?: (saga: SagaState, what: string) => void;
}

/** What ends a saga's hold on its exclusion key: an end it cannot be resumed from (FAILED can: an operator's retry). */
const releasesExclusion = (status: SagaState['status']): boolean => status === 'COMPLETED' || status === 'COMPENSATED';

/** The type of the parked entry that begins a waiting saga once its definition version is deployed again. */
const PARKED_BEGIN = 'ExclusionReleased';

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
  /** Type → version → definition: several versions of a type may be deployed at once (docs/adr/0007). */
  private readonly definitions = new Map<string, Map<number, AnySagaDefinition>>();
  private readonly clock: () => Date;
  /** Which types and versions this engine runs: what the deadline scan and the parked replies are filtered by. */
  readonly deployment: Deployment;

  constructor(
    definitions: readonly AnySagaDefinition[],
    readonly store: SagaStore = new SagaStore(),
    private readonly options: SagaEngineOptions = {},
  ) {
    for (const definition of definitions) {
      const versions = this.definitions.get(definition.type) ?? new Map<number, AnySagaDefinition>();
      if (versions.has(definition.version)) throw new Error(`two saga definitions of type ${definition.type} version ${definition.version}`);
      versions.set(definition.version, scaleTimings(definition, options.timeScale ?? 1));
      this.definitions.set(definition.type, versions);
    }
    this.deployment = {
      types: [...this.definitions.keys()],
      deployed: [...this.definitions.values()].flatMap((versions) => [...versions.values()].map((definition) => `${definition.type}@${definition.version}`)),
    };
    this.clock = options.clock ?? (() => new Date());
  }

  /** The versions of `type` deployed here, oldest first (empty for a type it does not run). */
  versionsOf(type: string): number[] {
    return [...(this.definitions.get(type)?.keys() ?? [])].sort((left, right) => left - right);
  }

  /** Whether the definition `state` started on runs here. */
  isDeployed(state: Pick<SagaState, 'type' | 'definitionVersion'>): boolean {
    return this.definitions.get(state.type)?.has(state.definitionVersion) === true;
  }

  /**
   * The definition `state` runs on: the version it started on. Throws UnknownSagaType for a
   * type not run here and SagaVersionNotDeployed for a version not deployed.
   */
  definitionOf(state: Pick<SagaState, 'type' | 'definitionVersion'>): AnySagaDefinition {
    const versions = this.definitions.get(state.type);
    if (!versions) throw new UnknownSagaType(state.type);
    const definition = versions.get(state.definitionVersion);
    if (!definition) throw new SagaVersionNotDeployed(state.type, state.definitionVersion, this.versionsOf(state.type));
    return definition;
  }

  /** The engine's clock. */
  now(): Date {
    return this.clock();
  }

  /** The newest deployed definition of `type` (what starts new sagas), time-scaled. */
  definition(type: string): AnySagaDefinition {
    const versions = this.definitions.get(type);
    if (!versions) throw new UnknownSagaType(type);
    const newest = Math.max(...versions.keys());
    return versions.get(newest) as AnySagaDefinition;
  }

  /**
   * Starts a saga on the newest deployed version of its type: inserts it with its first
   * commands. When its definition declares an exclusion key another saga holds, it is
   * inserted waiting (nothing sent) and begins when the holder ends. Throws
   * SagaAlreadyStarted when `sagaId` exists.
   */
  async start<D>(tx: SagaTransaction, definition: SagaDefinition<D> | string, input: StartSaga<D>): Promise<SagaState<D>> {
    const registered = this.definition(typeof definition === 'string' ? definition : definition.type) as SagaDefinition<D>;
    // Read with BEGIN (sagaPreload): the id is taken. Not read: the insert checks it.
    if (tx.shared?.get(sagaKey(input.sagaId))) throw new SagaAlreadyStarted(input.sagaId);
    const now = this.clock();
    const key = registered.exclusionKey(input.data);
    // Speculating, the key is taken for granted (a deferred claim fails the commit when it
    // is not free, and the start runs again the usual way, which waits for the holder).
    let holder: string | null = null;
    if (key !== null) holder = speculating(tx) ? this.store.claimFreeExclusion(tx, key, input.sagaId, now) : await this.store.claimExclusion(tx.manager, key, input.sagaId, now);
    const waitFor = holder !== null && holder !== input.sagaId ? holder : null;
    const decision = decide(registered, null, { kind: 'start', ...input, waitFor }, now, this.options);
    const state = await this.store.insert(tx, decision.state, decision.history);
    this.remember(tx, state);
    if (key !== null && waitFor !== null) await this.store.enqueueWaiter(tx.manager, key, input.sagaId, input.cause.id);
    this.publish(tx, decision);
    return state;
  }

  /**
   * Hands a participant's event to its saga (by `sagaId`). Returns false when no saga
   * matches; a reply the saga was not waiting for is recorded in its history and changes nothing.
   * `duringOutage`: see SagaInput (a transient failure then spends no attempt).
   */
  async handleReply(tx: SagaTransaction, envelope: Envelope, options: HandleReplyOptions = {}): Promise<boolean> {
    const state = await this.load(tx, envelope.sagaId);
    if (!state) return false;
    const versions = this.definitions.get(state.type);
    const definition = versions?.get(state.definitionVersion);
    if (versions && !definition) {
      // Its type runs here, but not the version it started on (a deploy dropped it): keep the
      // reply, in order, for when that version is deployed again (`handleParked`); the saga is
      // left as it is. An ended saga needs no reply: only recorded.
      if (!isTerminal(state.status)) {
        const reason = new SagaVersionNotDeployed(state.type, state.definitionVersion, this.versionsOf(state.type)).message;
        await this.store.parkReply(tx.manager, envelope, reason, this.clock());
        this.options.onUndeployed?.(state, `${envelope.type} parked: ${reason}`);
      }
      await this.store.appendHistory(tx, state.id, [
        { direction: 'in', topic: null, messageId: envelope.id, type: envelope.type, step: null, at: this.clock() },
      ]);
      return true;
    }
    if (!definition) {
      // Its definition is gone (renamed, removed): no reply can ever move it. Set it aside
      // for a person, once; later replies to it are only recorded.
      if (isTerminal(state.status)) {
        const at = this.clock();
        await this.store.appendHistory(tx, state.id, [
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
    const state = await this.load(tx, sagaId);
    if (!state) return false;
    if (expected !== undefined && state.steps.find((candidate) => candidate.name === step)?.deadlineAt?.getTime() !== expected.getTime()) return false;
    // Its version is not deployed: the deadline stays, and fires once the version is back.
    if (this.definitions.has(state.type) && !this.isDeployed(state)) return false;
    const decision = await this.apply(tx, this.definitionOf(state), state, { kind: 'deadline', step }, now);
    return decision.ignored === null;
  }

  /**
   * Sets a saga aside that cannot be run (its type or step unknown, its data breaking its
   * contract): FAILED, every deadline cleared, the reason on the step (or the failure), and
   * the host's `onQuarantined` messages sent. Needs no definition. Returns false when the
   * saga does not exist. An operator's retry tries it again once the cause is fixed.
   */
  async quarantine(tx: SagaTransaction, sagaId: string, step: string | null, reason: string, causationId: string | null = null): Promise<boolean> {
    const state = await this.load(tx, sagaId);
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
      this.remember(tx, await this.store.save(tx, state, { ...state, updatedAt: quarantine.now, steps }, history));
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
    this.remember(tx, await this.store.save(tx, state, next, history));
    for (const { envelope } of outgoing) tx.publish(envelope);
  }

  /** Operator: re-send what a RUNNING or COMPENSATING saga waits for; resume a FAILED saga's compensations. */
  async retry(tx: SagaTransaction, sagaId: string, requestId?: string): Promise<SagaState> {
    const state = await this.loadExisting(tx, sagaId);
    return (await this.apply(tx, this.definitionOf(state), state, { kind: 'retry', requestId: requestId ?? null }, this.clock())).state;
  }

  /** Operator: compensate a RUNNING saga. */
  async abort(tx: SagaTransaction, sagaId: string, reason: string, requestId?: string): Promise<SagaState> {
    const state = await this.loadExisting(tx, sagaId);
    return (await this.apply(tx, this.definitionOf(state), state, { kind: 'abort', reason, requestId: requestId ?? null }, this.clock())).state;
  }

  /** Steps whose deadline passed: the host's timer calls `fireDeadline` for each, one transaction each. */
  /** The earliest deadline any step waits for (a lower bound of the next due one), or null. */
  nextDeadline(manager: EntityManager): Promise<Date | null> {
    return this.store.nextDeadline(manager, this.deployment);
  }

  /** Leaves out the sagas whose definition version is not deployed here: their deadlines wait for it. */
  dueDeadlines(manager: EntityManager, limit: number, now: Date = this.clock()): Promise<DueDeadline[]> {
    return this.store.dueDeadlines(manager, now, limit, this.deployment);
  }

  /** The saga `handleParked` would move next, or null: what a host sets aside when handling it fails. */
  nextParkedSaga(manager: EntityManager): Promise<string | null> {
    return this.store.nextParkedSaga(manager, this.deployment.deployed);
  }

  /**
   * Handles the oldest reply parked for a saga whose definition version is deployed again
   * (one per call, one transaction each: the host loops until it returns null). Returns the
   * saga id it moved, or null when nothing is parked for a deployed version.
   */
  async handleParked(tx: SagaTransaction): Promise<string | null> {
    const parked = await this.store.takeParkedReply(tx.manager, this.deployment.deployed);
    if (!parked) return null;
    if (parked.envelope.type === PARKED_BEGIN) {
      const state = await this.loadExisting(tx, parked.sagaId);
      const holder = parked.envelope.causationId ?? '(unknown)';
      const causeId = (parked.envelope.payload as { causeId?: string | null } | null)?.causeId ?? null;
      await this.apply(tx, this.definitionOf(state), state, { kind: 'begin', holder, causeId }, this.clock());
      return parked.sagaId;
    }
    const state = await this.store.load(tx.manager, parked.sagaId);
    if (state && this.isDeployed(state) && !this.definitionOf(state).routes.has(parked.envelope.type)) {
      // Answers no step of the version it runs on (it was parked, so never checked): recorded, not retried forever.
      await this.store.appendHistory(tx, state.id, [
        { direction: 'in', topic: null, messageId: parked.envelope.id, type: `${parked.envelope.type} (unroutable, dropped)`, step: null, at: this.clock() },
      ]);
      return parked.sagaId;
    }
    await this.handleReply(tx, parked.envelope);
    return parked.sagaId;
  }

  /** After a plumbing outage: every step waiting for a reply gets more time (see SagaStore). */
  postponeReplyDeadlines(manager: EntityManager, postponement: { outageMs: number; since: Date; recoveryMs?: number }): Promise<number> {
    return this.store.postponeReplyDeadlines(manager, postponement);
  }

  /** The saga's data with the definition's secret keys redacted, for people. */
  redactedData(state: SagaState): unknown {
    const versions = this.definitions.get(state.type);
    // Any version's list will do for one it no longer runs: the newest says what is secret now.
    const definition = versions?.get(state.definitionVersion) ?? (versions ? this.definition(state.type) : undefined);
    return redactSagaData(definition ?? { redact: [] }, state.data);
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
      await this.store.appendHistory(tx, state.id, history);
      return { ...decision, now };
    }
    const saved = await this.store.save(tx, state, decision.state, history);
    this.remember(tx, saved);
    this.publish(tx, decision);
    const key = !releasesExclusion(state.status) && releasesExclusion(saved.status) ? definition.exclusionKey(state.data) : null;
    if (key !== null) {
      // Speculating, nobody waits for the key: a deferred release fails the commit when
      // someone does, and the reply runs again the usual way, which hands the key over.
      if (speculating(tx)) this.store.releaseUnwantedExclusion(tx, key, state.id);
      else await this.handOver(tx, state.id, now);
    }
    return { ...decision, state: saved, now };
  }

  /**
   * `sagaId` ended: its exclusion key goes to the first saga waiting for it, which begins
   * now, in this transaction (no poll), on whichever replica ended the holder.
   */
  private async handOver(tx: SagaTransaction, sagaId: string, now: Date): Promise<void> {
    const next = await this.store.releaseExclusion(tx.manager, sagaId, now);
    if (!next) return;
    const waiter = await this.loadExisting(tx, next.sagaId);
    if (!this.isDeployed(waiter)) {
      // It holds the key now but cannot begin here: parked, it begins when its version is deployed again.
      const begin = {
        id: randomUUID(),
        type: PARKED_BEGIN,
        version: 1,
        sagaId: waiter.id,
        correlationId: waiter.correlationId,
        causationId: sagaId,
        occurredAt: now.toISOString(),
        payload: { causeId: next.causeId },
      };
      await this.store.parkReply(tx.manager, begin, `holder ${sagaId} ended; ${waiter.type} version ${waiter.definitionVersion} is not deployed`, now);
      this.options.onUndeployed?.(waiter, `handed its exclusion key by ${sagaId}, cannot begin: version not deployed`);
      return;
    }
    await this.apply(tx, this.definitionOf(waiter), waiter, { kind: 'begin', holder: sagaId, causeId: next.causeId }, now);
  }

  private publish(tx: SagaTransaction, decision: Decision<unknown>): void {
    for (const envelope of decision.outgoing) tx.publish(envelope);
  }

  /** The saga as this transaction last saw it (see SagaTransaction.shared), else from the store. */
  private async load(tx: SagaTransaction, sagaId: string): Promise<SagaState | null> {
    const known = tx.shared?.get(sagaKey(sagaId)) as SagaState | undefined;
    return known ?? this.store.load(tx.manager, sagaId);
  }

  private remember(tx: SagaTransaction, state: SagaState): void {
    tx.shared?.set(sagaKey(state.id), state);
  }

  private async loadExisting(tx: SagaTransaction, sagaId: string): Promise<SagaState> {
    const state = await this.load(tx, sagaId);
    if (!state) throw new SagaNotFound(sagaId);
    return state;
  }
}
