import { AsyncLocalStorage } from 'node:async_hooks';
import { type Catalogue, type CommandDefinition, causedBy, type Envelope, type Failure } from '@sitesaga/message-kit';
import type { Logger } from 'pino';
import type { PoolClient, QueryResult } from 'pg';
import type { DataSource, QueryRunner } from 'typeorm';
import { type BackoffPolicy, backoffDelay } from '../retry/backoff';
import { isConnectionFailure } from '../retry/connection-failure';
import { deliveryAttemptOf } from '../retry/delivery-attempt';
import { BusinessRejection, classifyFailure, describeError } from '../retry/failure-classification';
import { inboxInsertOrFailSql, inboxInsertSql, isInboxDuplicate } from '../inbox/inbox';
import { hopTiming } from '../observability/hop-timing';
import { adoptTransaction, forgetTransaction } from './adopted-transaction';
import { BatchAborted, type BatchScope, batchScope } from './batch-scope';
import { currentMessageScope } from '../correlation';
import { type DeferredWrite, explainCommitFailure, inlineParameters, type Preload } from './deferred-writes';
import { type CommittedOutboxRecord, type OutboxRecord, outboxHopHeaders, outboxInsertSql, outboxMarkSentSql, outboxRecords } from './outbox-writer';
import { OutboxTransaction, type Transaction } from './transaction';

/** The sagas whose turn the current async context holds (see UnitOfWork.inTurn). */
const turnHeld = new AsyncLocalStorage<ReadonlySet<string>>();

/** Thrown into a one-round-trip handler whose own statement found its message processed already. */
class DuplicateDelivery extends Error {
  constructor(messageId: string) {
    super(`message ${messageId} was processed already`);
    this.name = 'DuplicateDelivery';
  }
}

/** BEGIN and the inbox rows not sent yet (UnitOfWork.beginLazily). */
interface LazyBegin {
  /** Sent (or possibly sent: a commit that failed part-way): a ROLLBACK is due on failure. */
  begun: boolean;
  /** A handler's statement found a message processed already. */
  duplicate: boolean;
  /** The inbox rows, when they did not go yet: the whole transaction then goes at the COMMIT. */
  unsentInbox(): string | null;
}

/**
 * A whole transaction (BEGIN to COMMIT in one statement string) waiting to be committed
 * together with others: see UnitOfWork.commitTogether.
 */
interface GroupMember {
  readonly client: PoolClient;
  /** Its statements between BEGIN and COMMIT: the inbox rows, the deferred writes, the outbox INSERT. */
  readonly statements: readonly string[];
  readonly records: readonly OutboxRecord[];
  readonly deferred: readonly DeferredWrite[];
  readonly done: { resolve: () => void; reject: (error: unknown) => void };
}

/** At most this many transactions are committed as one. */
const MAX_GROUP = 32;

export type UnitOfWorkOutcome<T> = { readonly status: 'done'; readonly result: T; readonly published: readonly Envelope[] } | { readonly status: 'duplicate' };

/**
 * Where committed outbox rows go at once (the process's own relay): the rows, handed over
 * right after their commit so they can be published without being read back; and the
 * positions the relay has published but not yet marked sent, which a commit marks in its
 * own round trip.
 */
export interface CommittedOutboxSink {
  handOff(records: readonly CommittedOutboxRecord[]): void;
  takeMarks(): string[];
  returnMarks(positions: readonly string[]): void;
}

export interface UnitOfWorkOptions {
  /** Inbox consumer name: the service name. */
  readonly consumer: string;
  /** The messages the service speaks: outbox rows take their topic from it, failures their shape. */
  readonly catalogue: Catalogue;
  readonly logger: Logger;
  /** The relay of this process: committed rows are handed to it (see CommittedOutboxSink). */
  readonly outbox?: CommittedOutboxSink;
  /** Called after every commit that wrote outbox rows, when there is no `outbox` sink: wakes a relay. */
  readonly onOutboxWritten?: () => void;
  /**
   * True when the relay that publishes this database's outbox runs in another process
   * (another replica leads): the transaction then sends a NOTIFY to wake it at commit.
   * The leader's own commits skip it: NOTIFY serialises committing transactions on a
   * global queue lock, a cost worth paying only when it buys latency.
   */
  readonly relayIsRemote?: () => boolean;
  /** Backoff while an unreachable database is waited out (an outage spends no attempt). */
  readonly backoff: BackoffPolicy;
  /**
   * Asked before every attempt of every participant command (the fault injector): throw
   * to fail the attempt, or say `drop` to consume the command without answering it.
   */
  readonly intercept?: (command: Envelope) => 'proceed' | 'drop';
  /** What to read with BEGIN and the inbox rows, for the handlers of the messages (see Preload). */
  readonly preload?: Preload;
}

/**
 * Transaction + inbox + outbox, for every service (STYLE.md, "How a participant command
 * handler should read"). `run` is the plain form; `handleCommand` adds what a command
 * handler needs: exactly one outcome event per command id, success or a failure that
 * carries its class. It never retries a failed attempt itself: the transport does (see
 * retry/delivery-attempt.ts), so that a command is tried HANDLER_ATTEMPTS times in all.
 */
export class UnitOfWork {
  /** Set at shutdown: an outage is then no longer waited out (the command is redelivered after the restart). */
  private stopping = false;
  private readonly sleepers = new Set<() => void>();
  /** Per saga, the end of the last unit of work queued for it (see inTurn). */
  private readonly turns = new Map<string, Promise<void>>();
  /** Whole transactions waiting for the group commit in flight to end (see commitTogether). */
  private readonly waitingToCommit: GroupMember[] = [];
  private groupInFlight = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly options: UnitOfWorkOptions,
  ) {}

  /**
   * Runs `work` in one transaction. With a cause, records the cause's id in the inbox
   * first and returns `duplicate` without running `work` when it was already processed.
   */
  async run<T>(cause: Envelope | null, work: (tx: Transaction) => Promise<T>): Promise<UnitOfWorkOutcome<T>> {
    const scope = batchScope.getStore();
    if (scope && scope.owner === this && !scope.closed && !scope.inRun) return this.joinBatch(scope, cause, work);
    if (!cause) return this.runInTwoTrips(cause, work);
    return this.inTurn([cause.sagaId], () => this.runMessage(cause, work));
  }

  /**
   * Runs `work` after every unit of work of this process for the same sagas that started
   * before it: two replies of one saga fetched at once (parallel steps answer on different
   * topics, in different batches) would otherwise both read or recall the same version,
   * and one would fail its version check: a retry for a message, the whole batch one by
   * one for a batch. The turns of all `sagaIds` are queued for at once, synchronously, so
   * every wait is for a unit of work queued earlier: no two can wait for each other. A unit
   * of work already in a saga's turn (the same async context) does not wait for it again.
   */
  private async inTurn<T>(sagaIds: readonly string[], work: () => Promise<T>): Promise<T> {
    const held = turnHeld.getStore();
    const keys = [...new Set(sagaIds.map((id) => id.toLowerCase()))].filter((key) => !held?.has(key));
    if (keys.length === 0) return work();
    let release: () => void = () => undefined;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const earlier: Promise<void>[] = [];
    const queued = keys.map((key) => {
      const previous = this.turns.get(key);
      if (previous) earlier.push(previous);
      const tail = previous ? previous.then(() => mine) : mine;
      this.turns.set(key, tail);
      return [key, tail] as const;
    });
    try {
      if (earlier.length > 0) await Promise.all(earlier);
      return await turnHeld.run(new Set([...(held ?? []), ...keys]), work);
    } finally {
      release();
      for (const [key, tail] of queued) if (this.turns.get(key) === tail) this.turns.delete(key);
    }
  }

  private async runMessage<T>(cause: Envelope, work: (tx: Transaction) => Promise<T>): Promise<UnitOfWorkOutcome<T>> {
    if (this.options.preload?.recall) {
      const shared = new Map<string, unknown>();
      if (this.options.preload.recall([cause], shared)) {
        const outcome = await this.runInOneTrip(cause, work, shared);
        if (outcome) return outcome;
      }
    }
    return this.runInTwoTrips(cause, work);
  }

  /**
   * The usual unit of work. Round trips are what a unit of work costs here, so it takes
   * two, not six or more: BEGIN travels with the inbox INSERT (and the preload), and the
   * deferred writes and the outbox INSERT with the COMMIT (the simple query protocol
   * carries several statements; values are quoted by pg's escapeLiteral).
   */
  private async runInTwoTrips<T>(cause: Envelope | null, work: (tx: Transaction) => Promise<T>): Promise<UnitOfWorkOutcome<T>> {
    const t0 = hopTiming ? Date.now() : 0;
    const runner = this.dataSource.createQueryRunner();
    const client = (await runner.connect()) as PoolClient;
    let open = false;
    const shared = new Map<string, unknown>();
    try {
      open = true;
      if (cause) {
        const [, inbox] = await this.begin(client, [cause], shared);
        if (inbox.rowCount !== 1) {
          await client.query('ROLLBACK');
          open = false;
          return { status: 'duplicate' };
        }
      } else {
        await client.query('BEGIN');
      }
      // TypeORM must see the transaction as its own: `manager.save` then opens none.
      adoptTransaction(runner);
      const tx = new OutboxTransaction(runner.manager, cause, shared);
      const result = await work(tx);
      const tw = hopTiming ? Date.now() : 0;
      await this.commit(client, this.recordsOf(tx.pending), tx.deferred);
      open = false;
      this.options.preload?.committed?.(shared);
      hopTiming?.record({ ev: 'uow', cause: cause?.id, out: tx.pending.map((e) => e.id), t0, tw, tc: Date.now() });
      return { status: 'done', result, published: tx.pending };
    } catch (error) {
      if (open) await client.query('ROLLBACK').catch(() => undefined);
      this.options.preload?.forget?.(cause ? [cause] : [], shared);
      throw error;
    } finally {
      forgetTransaction(runner);
      await runner.release();
    }
  }

  /**
   * A unit of work in ONE round trip, when the preload remembers all its handler reads
   * (Preload.recall): the handler runs first, on what is remembered, and BEGIN, the inbox
   * row, its writes, the outbox rows and COMMIT then travel together. The inbox row is
   * written so that it fails on a message processed already (then nothing is written: a
   * duplicate), and a remembered state that another process changed since fails its
   * version check (then nothing is written either). A handler that sends a statement of
   * its own gets the transaction opened first, the usual way. Returns null when the
   * message must be run again the usual way: the handler failed, or the commit did for a
   * reason other than a duplicate (stale memory, an outage): the usual way reads what is
   * stored, checks the inbox first and reports the failure as it always does.
   */
  private async runInOneTrip<T>(cause: Envelope, work: (tx: Transaction) => Promise<T>, shared: Map<string, unknown>): Promise<UnitOfWorkOutcome<T> | null> {
    const t0 = hopTiming ? Date.now() : 0;
    const runner = this.dataSource.createQueryRunner();
    const client = (await runner.connect()) as PoolClient;
    const opening = this.beginLazily(runner, client, [cause], shared);
    const rollBack = async (): Promise<void> => {
      if (opening.begun) await client.query('ROLLBACK').catch(() => undefined);
      this.options.preload?.forget?.([cause], shared);
    };
    try {
      adoptTransaction(runner);
      const tx = new OutboxTransaction(runner.manager, cause, shared, [], true);
      let result: T;
      try {
        result = await work(tx);
      } catch {
        await rollBack();
        return opening.duplicate ? { status: 'duplicate' } : null;
      }
      const tw = hopTiming ? Date.now() : 0;
      try {
        await this.commit(client, this.recordsOf(tx.pending), tx.deferred, opening.unsentInbox());
      } catch (error) {
        opening.begun = true; // whatever part of it ran, the session may be in a failed transaction
        await rollBack();
        return isInboxDuplicate(error) ? { status: 'duplicate' } : null;
      }
      this.options.preload?.committed?.(shared);
      hopTiming?.record({ ev: 'uow', cause: cause.id, out: tx.pending.map((e) => e.id), t0, tw, tc: Date.now() });
      return { status: 'done', result, published: tx.pending };
    } finally {
      forgetTransaction(runner);
      await runner.release();
    }
  }

  /**
   * Runs the handlers of a fetched batch in ONE transaction: one round trip for BEGIN and
   * every inbox row, the handlers' own statements, and one for every outbox row and the
   * COMMIT — instead of four round trips per message. `handle(i)` runs the handler of
   * `causes[i]`; its `run` joins the batch's transaction and resolves after the commit.
   * The handlers run one after the other, in order. When any of them fails, the whole
   * transaction is rolled back and `false` is returned: the caller then handles the
   * messages one by one, each in its own unit of work, where a failure gets its usual
   * treatment. Nothing is committed for a batch that returns `false`.
   */
  runBatch(causes: readonly Envelope[], handle: (index: number) => Promise<void>): Promise<boolean> {
    return this.inTurn(
      causes.map((cause) => cause.sagaId),
      () => this.runBatchInTurn(causes, handle),
    );
  }

  private async runBatchInTurn(causes: readonly Envelope[], handle: (index: number) => Promise<void>): Promise<boolean> {
    const runner = this.dataSource.createQueryRunner();
    const client = (await runner.connect()) as PoolClient;
    let open = false;
    let settle: { resolve: () => void; reject: (error: unknown) => void } = { resolve: () => undefined, reject: () => undefined };
    const committed = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    committed.catch(() => undefined);
    const handlers: Promise<void>[] = [];
    let scope: BatchScope | null = null;
    const shared = new Map<string, unknown>();
    // Every saga of the batch remembered: nothing to read, and the whole transaction goes
    // in one round trip at the end (see runInOneTrip) — unless a handler sends a statement
    // of its own, which opens it first. A duplicate or a stale memory then fails the
    // commit, and the messages are handled one by one.
    const oneTrip = this.options.preload?.recall?.(causes, shared) === true;
    if (!oneTrip) shared.clear(); // what was recalled of some: all are read with BEGIN
    const opening = oneTrip ? this.beginLazily(runner, client, causes, shared) : null;
    try {
      open = true;
      let duplicates = new Set<string>();
      if (!opening) {
        const [, inbox] = await this.begin(client, causes, shared);
        const fresh = new Set((inbox.rows as { message_id: string }[]).map((row) => row.message_id));
        duplicates = new Set(causes.filter((cause) => !fresh.has(cause.id)).map((cause) => cause.id));
      }
      adoptTransaction(runner);
      const active: BatchScope = {
        owner: this,
        manager: runner.manager,
        duplicates,
        speculative: oneTrip,
        records: [],
        shared,
        deferred: [],
        committed,
        reached: () => undefined,
        aborted: undefined,
        closed: false,
        inRun: false,
      };
      scope = active;
      for (let index = 0; index < causes.length && active.aborted === undefined; index++) {
        const reached = new Promise<void>((resolve) => (active.reached = resolve));
        const handler = batchScope.run(active, () => handle(index));
        handlers.push(handler);
        // On to the next message once this handler's work is done (its run waits for the
        // commit) or once the handler is over (it had nothing to commit, or it failed).
        const failed = await Promise.race([reached.then(() => undefined), handler.then(() => undefined, (error: unknown) => ({ error }))]);
        if (failed) active.aborted ??= failed.error;
      }
      if (active.aborted !== undefined) throw new BatchAborted(active.aborted);
      try {
        await this.commit(client, active.records, active.deferred, opening?.unsentInbox());
      } catch (error) {
        if (!opening) throw error;
        opening.begun = true; // whatever part of it ran, the session may be in a failed transaction
        // Sent whole, it failed on a duplicate or a stale memory: the usual path sorts out which.
        throw new BatchAborted(error);
      }
      open = false;
      this.options.preload?.committed?.(shared);
      active.closed = true;
      settle.resolve();
      // A handler that fails after the commit (its own follow-up) is handled again alone:
      // its inbox row makes that a duplicate, so nothing happens twice.
      const outcomes = await Promise.allSettled(handlers);
      return outcomes.every((outcome) => outcome.status === 'fulfilled');
    } catch (error) {
      if (scope) scope.closed = true;
      if (open && (opening?.begun ?? true)) await client.query('ROLLBACK').catch(() => undefined);
      open = false;
      this.options.preload?.forget?.(causes, shared);
      settle.reject(error instanceof BatchAborted ? error : new BatchAborted(error));
      await Promise.allSettled(handlers);
      if (!(error instanceof BatchAborted)) this.options.logger.warn({ err: error, messages: causes.length }, 'a batch unit of work failed; handling its messages one by one');
      return false;
    } finally {
      forgetTransaction(runner);
      await runner.release();
    }
  }

  /** A handler's `run` inside `runBatch`: its work joins the batch's transaction; it resolves after the commit. */
  private async joinBatch<T>(scope: BatchScope, cause: Envelope | null, work: (tx: Transaction) => Promise<T>): Promise<UnitOfWorkOutcome<T>> {
    if (scope.aborted !== undefined) throw new BatchAborted(scope.aborted);
    if (cause) {
      // The inbox said so for the batch as a whole; the same message twice in one batch is
      // a duplicate the second time.
      if (scope.duplicates.has(cause.id)) return { status: 'duplicate' };
      scope.duplicates.add(cause.id);
    }
    scope.inRun = true;
    let tx: OutboxTransaction;
    let result: T;
    try {
      tx = new OutboxTransaction(scope.manager, cause, scope.shared, scope.deferred, scope.speculative);
      result = await work(tx);
    } catch (error) {
      scope.aborted ??= error;
      throw new BatchAborted(error);
    } finally {
      scope.inRun = false;
    }
    scope.records.push(...this.recordsOf(tx.pending));
    scope.reached();
    await scope.committed;
    return { status: 'done', result, published: tx.pending };
  }

  /** The outbox rows of `envelopes`, stamped with the hop headers of the message being handled (written now, at commit). */
  private recordsOf(envelopes: readonly Envelope[]): OutboxRecord[] {
    if (envelopes.length === 0) return [];
    return outboxRecords(envelopes, this.options.catalogue, outboxHopHeaders(Date.now(), currentMessageScope()));
  }

  /**
   * Leaves BEGIN and the inbox rows of `causes` for later, for a transaction sent in one
   * round trip: they go with the first statement a handler sends through `runner` (which
   * fails with DuplicateDelivery when any of them was processed already), or else with the
   * COMMIT (`unsentInbox()`: inbox rows that fail on a duplicate).
   */
  private beginLazily(runner: QueryRunner, client: PoolClient, causes: readonly Envelope[], shared: Map<string, unknown>): LazyBegin {
    const opening: LazyBegin = {
      begun: false,
      duplicate: false,
      unsentInbox: () => (opening.begun ? null : inboxInsertOrFailSql(this.options.consumer, causes)),
    };
    const query = runner.query.bind(runner);
    runner.query = (async (...args: Parameters<typeof query>) => {
      if (!opening.begun) {
        opening.begun = true;
        const [, inbox] = await this.begin(client, causes, shared, false);
        if (inbox.rowCount !== causes.length) {
          opening.duplicate = true;
          throw new DuplicateDelivery(causes.map((cause) => cause.id).join(', '));
        }
      }
      return query(...args);
    }) as typeof query;
    return opening;
  }

  /**
   * The first round trip of a unit of work for `causes`: BEGIN, their inbox rows, and the
   * preload (its rows filed in `shared`). Returns the BEGIN and inbox results.
   */
  private async begin(client: PoolClient, causes: readonly Envelope[], shared: Map<string, unknown>, read = true): Promise<[QueryResult, QueryResult]> {
    const preload = read ? (this.options.preload?.sql(causes) ?? null) : null;
    const results = (await client.query(`BEGIN; ${inboxInsertSql(this.options.consumer, causes)}${preload ? `; ${preload}` : ''}`)) as unknown as QueryResult[];
    if (preload) this.options.preload!.accept(results[2]!.rows as Record<string, unknown>[], causes, shared);
    return [results[0]!, results[1]!];
  }

  /**
   * The last round trip of a unit of work: the deferred writes, the outbox rows, the
   * NOTIFY that wakes a relay in another process, the marks of rows this process's relay
   * published since the last commit (sent_at, for free), and COMMIT. Then the rows go to
   * the relay of this process. A transaction whose inbox rows were not sent yet goes whole,
   * BEGIN to COMMIT, through the group commit (commitTogether).
   */
  private async commit(client: PoolClient, records: readonly OutboxRecord[], deferred: readonly DeferredWrite[] = [], unsentInbox: string | null = null): Promise<void> {
    if (unsentInbox !== null) return this.commitTogether(client, records, deferred, unsentInbox);
    const writes = deferred.map((write) => `${inlineParameters(write.sql, write.params)}; `).join('');
    const outbox = outboxInsertSql(records);
    const notify = outbox && this.options.relayIsRemote?.() ? `SELECT pg_notify('outbox_messages', '');` : '';
    const marks = this.options.outbox?.takeMarks() ?? [];
    const mark = outboxMarkSentSql(marks);
    let results: QueryResult | QueryResult[];
    try {
      results = (await client.query(`${writes}${outbox ? `${outbox}; ` : ''}${mark ? `${mark}; ` : ''}${notify} COMMIT`)) as unknown as
        | QueryResult
        | QueryResult[];
    } catch (error) {
      if (marks.length > 0) this.options.outbox?.returnMarks(marks);
      throw explainCommitFailure(error, deferred);
    }
    this.handOff(records, Array.isArray(results) ? results[deferred.length]! : results);
  }

  /**
   * Group commit of whole transactions (a one-round-trip unit of work, or a fetched batch
   * sent in one): when no group is in flight, a transaction goes at once, alone, as it
   * always did; the ones that arrive while a group is in flight wait for it, then go
   * together as ONE transaction, on the client of the first of them: one round trip, one
   * WAL flush and one wake-up of the server for all of them, instead of one each. Under
   * load that is most of what a commit costs; alone, it costs nothing more.
   *
   * The members are sagas of their own (units of work of one saga wait for each other's
   * commit, see inTurn), so one transaction changes nothing they see. When the group fails
   * (one member's duplicate inbox row, a stale version check, an outage), it is rolled back
   * whole and every member then commits alone, as it would have without the group: the
   * failing one gets its own error and its usual treatment, the others commit.
   */
  private commitTogether(client: PoolClient, records: readonly OutboxRecord[], deferred: readonly DeferredWrite[], inbox: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const writes = deferred.map((write) => inlineParameters(write.sql, write.params));
      const outbox = outboxInsertSql(records);
      this.waitingToCommit.push({ client, statements: [inbox, ...writes, ...(outbox ? [outbox] : [])], records, deferred, done: { resolve, reject } });
      this.nextGroup();
    });
  }

  private nextGroup(): void {
    if (this.groupInFlight || this.waitingToCommit.length === 0) return;
    this.groupInFlight = true;
    const group = this.waitingToCommit.splice(0, MAX_GROUP);
    void this.commitGroup(group).finally(() => {
      this.groupInFlight = false;
      this.nextGroup();
    });
  }

  private async commitGroup(group: readonly GroupMember[]): Promise<void> {
    const leader = group[0]!;
    const marks = this.options.outbox?.takeMarks() ?? [];
    const mark = outboxMarkSentSql(marks);
    const notify = group.some((member) => member.records.length > 0) && this.options.relayIsRemote?.() ? `SELECT pg_notify('outbox_messages', '')` : null;
    const sql = ['BEGIN', ...group.flatMap((member) => member.statements), ...(mark ? [mark] : []), ...(notify ? [notify] : []), 'COMMIT'].join('; ');
    let results: QueryResult[];
    try {
      const answer = (await leader.client.query(sql)) as unknown as QueryResult | QueryResult[];
      results = Array.isArray(answer) ? answer : [answer];
    } catch (error) {
      if (marks.length > 0) this.options.outbox?.returnMarks(marks);
      if (group.length === 1) {
        leader.done.reject(explainCommitFailure(error, leader.deferred));
        return;
      }
      // One of them failed, or the server did: each commits alone now, on its own client (see commitTogether).
      await leader.client.query('ROLLBACK').catch(() => undefined);
      await Promise.all(group.map((member) => this.commitGroup([member])));
      return;
    }
    let at = 1; // past BEGIN
    for (const member of group) {
      const outboxAt = at + member.statements.length - 1;
      at += member.statements.length;
      this.handOff(member.records, results[outboxAt]!);
      member.done.resolve();
    }
  }

  /** Gives committed rows to the relay of this process (or wakes it), with the positions the INSERT returned. */
  private handOff(records: readonly OutboxRecord[], inserts: QueryResult): void {
    if (records.length === 0) return;
    if (!this.options.outbox) {
      this.options.onOutboxWritten?.();
      return;
    }
    const inserted = inserts.rows as { position: string; message_id: string }[];
    const positions = new Map(inserted.map((row) => [row.message_id, row.position]));
    this.options.outbox.handOff(records.map((record) => ({ ...record, position: positions.get(record.messageId)! })));
  }

  /**
   * Handles one attempt at a participant command: `work` must publish the success event.
   * A `BusinessRejection` commits the inbox row and a failure event with class `business`.
   * A transient or unexpected error is handed back to the transport, which retries the
   * handler with backoff (the one retry layer: `HANDLER_ATTEMPTS` attempts in all); on the
   * transport's last attempt — or when no transport runs this command: a direct call is
   * one, last attempt — a failure event with class `transient` is committed instead.
   *
   * A database that cannot be reached (the service's own or the site server: refused,
   * dropped, restarting) is no failure of the command: it is waited out, with capped
   * backoff, for as long as the outage lasts — the transport heart-beats meanwhile, and the
   * partition waits behind this command as it would behind any slow one. Reporting it as
   * a failure would make the orchestrator compensate sagas that did nothing wrong. Only
   * errors a few retries cure (deadlock, serialization failure…) use up attempts.
   */
  async handleCommand<P>(command: Envelope<P>, work: (tx: Transaction) => Promise<void>): Promise<UnitOfWorkOutcome<void>> {
    const definition = this.options.catalogue.commandOf(command.type, command.version);
    if (!definition) throw new Error(`${command.type} is not a participant command`);
    const delivery = deliveryAttemptOf(command.id);
    let workFailed = false;
    let failure: unknown;
    try {
      return await this.outlastingOutages(command, () =>
        this.run(command, async (tx) => {
          try {
            if (this.options.intercept?.(command) === 'drop') return; // consumed, never answered
            await work(tx);
          } catch (error) {
            workFailed = true;
            throw error;
          }
        }),
      );
    } catch (error) {
      if (error instanceof BatchAborted) {
        // Handled again alone, outside the batch; a try whose own work failed counts as an attempt.
        if (workFailed && delivery) delivery.spent = true;
        throw error;
      }
      failure = error;
    }
    const kind = classifyFailure(failure);
    if (kind === 'business') {
      const reasons = failure instanceof BusinessRejection ? failure.reasons : undefined;
      return this.outlastingOutages(command, () => this.reportFailure(command, definition, { reason: describeError(failure), class: 'business', reasons }));
    }
    if (kind === 'unreadable' || this.stopping) throw failure;
    if (delivery && !delivery.last) throw failure; // the transport tries again
    const attempts = delivery?.attempt ?? 1;
    this.options.logger.error({ err: failure, attempt: attempts }, `${command.type} failed after ${attempts} attempts`);
    return this.outlastingOutages(command, () => this.reportFailure(command, definition, { reason: describeError(failure), class: 'transient' }));
  }

  /**
   * Stops waiting out outages: at shutdown, a command stuck behind an unreachable database
   * gives up at once (its offset is not committed; it is redelivered after the restart),
   * so that the consumer can stop and the process exit.
   */
  stopWaiting(): void {
    this.stopping = true;
    for (const wake of this.sleepers) wake();
    this.sleepers.clear();
  }

  /** Runs `once` until it gets through, as long as what stops it is an unreachable database. */
  private async outlastingOutages<T>(command: Envelope, once: () => Promise<T>): Promise<T> {
    let failures = 0;
    const startedAt = Date.now();
    for (;;) {
      try {
        const result = await once();
        if (failures > 0) this.options.logger.info({ outageMs: Date.now() - startedAt, failures }, `${command.type}: database reachable again`);
        return result;
      } catch (error) {
        if (error instanceof BatchAborted || this.stopping || classifyFailure(error) !== 'transient' || !isConnectionFailure(error)) throw error;
        failures += 1;
        const wait = backoffDelay(this.options.backoff, failures);
        this.options.logger.warn(
          { err: error, failures, outageMs: Date.now() - startedAt, retryInMs: wait },
          `${command.type}: database unreachable; waiting for it`,
        );
        await this.pause(wait);
      }
    }
  }

  private pause(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  /** The command's own failure event, built by its definition from the command (it names what the command named). */
  private reportFailure(command: Envelope, definition: CommandDefinition, failure: Failure): Promise<UnitOfWorkOutcome<void>> {
    this.options.logger.warn({ failureClass: failure.class, reason: failure.reason }, `${command.type} refused`);
    const bounded: Failure = { ...failure, reason: failure.reason.slice(0, 2000) };
    return this.run(command, async (tx) => {
      tx.publish(definition.failed.create(definition.failure(command.payload, bounded), causedBy(command)));
    });
  }
}
