import { type Catalogue, type CommandDefinition, causedBy, type Envelope, type Failure } from '@sitesaga/message-kit';
import type { Logger } from 'pino';
import type { PoolClient, QueryResult } from 'pg';
import type { DataSource } from 'typeorm';
import { type BackoffPolicy, backoffDelay } from '../retry/backoff';
import { isConnectionFailure } from '../retry/connection-failure';
import { BusinessRejection, classifyFailure, describeError } from '../retry/failure-classification';
import { inboxInsertSql } from '../inbox/inbox';
import { hopTiming } from '../observability/hop-timing';
import { outboxInsertSql } from './outbox-writer';
import { adoptTransaction, forgetTransaction } from './adopted-transaction';
import { OutboxTransaction, type Transaction } from './transaction';

export type UnitOfWorkOutcome<T> = { readonly status: 'done'; readonly result: T; readonly published: readonly Envelope[] } | { readonly status: 'duplicate' };

export interface UnitOfWorkOptions {
  /** Inbox consumer name: the service name. */
  readonly consumer: string;
  /** The messages the service speaks: outbox rows take their topic from it, failures their shape. */
  readonly catalogue: Catalogue;
  readonly logger: Logger;
  /** Called after every commit that wrote outbox rows: wakes the relay at once. */
  readonly onOutboxWritten?: () => void;
  /**
   * True when the relay that publishes this database's outbox runs in another process
   * (another replica leads): the transaction then sends a NOTIFY to wake it at commit.
   * The leader's own commits skip it: NOTIFY serialises committing transactions on a
   * global queue lock, a cost worth paying only when it buys latency.
   */
  readonly relayIsRemote?: () => boolean;
  readonly attempts: number;
  readonly backoff: BackoffPolicy;
  /**
   * Asked before every attempt of every participant command (the fault injector): throw
   * to fail the attempt, or say `drop` to consume the command without answering it.
   */
  readonly intercept?: (command: Envelope) => 'proceed' | 'drop';
}

/**
 * Transaction + inbox + outbox, for every service (STYLE.md, "How a participant command
 * handler should read"). `run` is the plain form; `handleCommand` adds what a command
 * handler needs: local retries of transient errors and exactly one outcome event per
 * command id, success or a failure that carries its class.
 */
export class UnitOfWork {
  /** Set at shutdown: an outage is then no longer waited out (the command is redelivered after the restart). */
  private stopping = false;
  private readonly sleepers = new Set<() => void>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly options: UnitOfWorkOptions,
  ) {}

  /**
   * Runs `work` in one transaction. With a cause, records the cause's id in the inbox
   * first and returns `duplicate` without running `work` when it was already processed.
   */
  async run<T>(cause: Envelope | null, work: (tx: Transaction) => Promise<T>): Promise<UnitOfWorkOutcome<T>> {
    // Round trips are what a unit of work costs here, so it takes four, not six: BEGIN
    // travels with the inbox INSERT, and the outbox INSERT with the COMMIT (the simple
    // query protocol carries several statements; values are quoted by pg's escapeLiteral).
    const t0 = hopTiming ? Date.now() : 0;
    const runner = this.dataSource.createQueryRunner();
    const client = (await runner.connect()) as PoolClient;
    let open = false;
    try {
      open = true;
      if (cause) {
        const [, inbox] = (await client.query(`BEGIN; ${inboxInsertSql(this.options.consumer, cause.id, cause.type)}`)) as unknown as [
          QueryResult,
          QueryResult,
        ];
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
      const tx = new OutboxTransaction(runner.manager, cause);
      const result = await work(tx);
      const tw = hopTiming ? Date.now() : 0;
      const outbox = outboxInsertSql(tx.pending, this.options.catalogue);
      const notify = outbox && this.options.relayIsRemote?.() ? `SELECT pg_notify('outbox_messages', '');` : '';
      await client.query(outbox ? `${outbox}; ${notify} COMMIT` : 'COMMIT');
      open = false;
      hopTiming?.record({ ev: 'uow', cause: cause?.id, out: tx.pending.map((e) => e.id), t0, tw, tc: Date.now() });
      if (tx.pending.length > 0) this.options.onOutboxWritten?.();
      return { status: 'done', result, published: tx.pending };
    } catch (error) {
      if (open) await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      forgetTransaction(runner);
      await runner.release();
    }
  }

  /**
   * Handles a participant command: `work` must publish the success event. A
   * `BusinessRejection` commits the inbox row and a failure event with class `business`;
   * a transient or unexpected error is retried here with backoff, and when attempts run
   * out a failure event with class `transient` is committed instead.
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
    let attempt = 0;
    for (;;) {
      attempt += 1;
      let failure: unknown;
      try {
        return await this.outlastingOutages(command, () =>
          this.run(command, async (tx) => {
            if (this.options.intercept?.(command) === 'drop') return; // consumed, never answered
            await work(tx);
          }),
        );
      } catch (error) {
        failure = error;
      }
      const kind = classifyFailure(failure);
      if (kind === 'business') {
        const reasons = failure instanceof BusinessRejection ? failure.reasons : undefined;
        return this.outlastingOutages(command, () => this.reportFailure(command, definition, { reason: describeError(failure), class: 'business', reasons }));
      }
      if (kind === 'unreadable' || this.stopping) throw failure;
      if (attempt >= this.options.attempts) {
        this.options.logger.error({ err: failure, attempt }, `${command.type} failed after ${attempt} attempts`);
        return this.outlastingOutages(command, () => this.reportFailure(command, definition, { reason: describeError(failure), class: 'transient' }));
      }
      const wait = backoffDelay(this.options.backoff, attempt);
      this.options.logger.warn({ err: failure, attempt, retryInMs: wait, kind }, `${command.type} failed; retrying`);
      await this.pause(wait);
    }
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
        if (this.stopping || classifyFailure(error) !== 'transient' || !isConnectionFailure(error)) throw error;
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
