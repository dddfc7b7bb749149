import { type CommandDefinition, causedBy, definitionOf, type Envelope, type FailureClass } from '@sitesaga/contracts';
import type { Logger } from 'pino';
import type { PoolClient, QueryResult } from 'pg';
import type { DataSource } from 'typeorm';
import { type BackoffPolicy, backoffDelay, delay } from '../retry/backoff';
import { classifyFailure, describeError } from '../retry/failure-classification';
import { inboxInsertSql } from '../inbox/inbox';
import { outboxInsertSql } from './outbox-writer';
import { OutboxTransaction, type Transaction } from './transaction';

export type UnitOfWorkOutcome<T> = { readonly status: 'done'; readonly result: T; readonly published: readonly Envelope[] } | { readonly status: 'duplicate' };

export interface UnitOfWorkOptions {
  /** Inbox consumer name: the service name. */
  readonly consumer: string;
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
}

/**
 * Transaction + inbox + outbox, for every service (STYLE.md, "How a participant command
 * handler should read"). `run` is the plain form; `handleCommand` adds what a command
 * handler needs: local retries of transient errors and exactly one outcome event per
 * command id, success or a failure that carries its class.
 */
export class UnitOfWork {
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
    const runner = this.dataSource.createQueryRunner();
    const client = (await runner.connect()) as PoolClient;
    const transaction = runner as unknown as { isTransactionActive: boolean; transactionDepth: number };
    let open = false;
    try {
      open = true;
      if (cause) {
        const [, inbox] = (await client.query(
          `BEGIN; ${inboxInsertSql(this.options.consumer, cause.id, cause.type)}`,
        )) as unknown as [QueryResult, QueryResult];
        if (inbox.rowCount !== 1) {
          await client.query('ROLLBACK');
          open = false;
          return { status: 'duplicate' };
        }
      } else {
        await client.query('BEGIN');
      }
      // TypeORM must see the transaction as its own: `manager.save` then opens none.
      transaction.isTransactionActive = true;
      transaction.transactionDepth = 1;
      const tx = new OutboxTransaction(runner.manager, cause);
      const result = await work(tx);
      const outbox = outboxInsertSql(tx.pending);
      const notify = outbox && this.options.relayIsRemote?.() ? `SELECT pg_notify('outbox_messages', '');` : '';
      await client.query(outbox ? `${outbox}; ${notify} COMMIT` : 'COMMIT');
      open = false;
      if (tx.pending.length > 0) this.options.onOutboxWritten?.();
      return { status: 'done', result, published: tx.pending };
    } catch (error) {
      if (open) await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      transaction.isTransactionActive = false;
      transaction.transactionDepth = 0;
      await runner.release();
    }
  }

  /**
   * Handles a participant command: `work` must publish the success event. A
   * `BusinessRejection` commits the inbox row and a failure event with class `business`;
   * a transient or unexpected error is retried here with backoff, and when attempts run
   * out a failure event with class `transient` is committed instead. If even that cannot
   * be written (the database is down), the error escapes and Kafka redelivers the command.
   */
  async handleCommand<P>(command: Envelope<P>, work: (tx: Transaction) => Promise<void>): Promise<UnitOfWorkOutcome<void>> {
    const definition = definitionOf(command.type, command.version) as CommandDefinition | undefined;
    if (!definition || definition.kind !== 'command') throw new Error(`${command.type} is not a participant command`);
    let attempt = 0;
    for (;;) {
      attempt += 1;
      try {
        return await this.run(command, work);
      } catch (error) {
        const kind = classifyFailure(error);
        if (kind === 'business') return this.reportFailure(command, definition, 'business', describeError(error));
        if (kind === 'unreadable') throw error;
        if (attempt >= this.options.attempts) {
          this.options.logger.error({ err: error, attempt }, `${command.type} failed after ${attempt} attempts`);
          return this.reportFailure(command, definition, 'transient', describeError(error));
        }
        const wait = backoffDelay(this.options.backoff, attempt);
        this.options.logger.warn({ err: error, attempt, retryInMs: wait, kind }, `${command.type} failed; retrying`);
        await delay(wait);
      }
    }
  }

  private reportFailure(command: Envelope, definition: CommandDefinition, failureClass: FailureClass, reason: string): Promise<UnitOfWorkOutcome<void>> {
    const siteId = (command.payload as { siteId?: string }).siteId ?? command.sagaId;
    this.options.logger.warn({ failureClass, reason }, `${command.type} refused`);
    return this.run(command, async (tx) => {
      tx.publish(definition.failed.create({ siteId, reason: reason.slice(0, 2000), class: failureClass }, causedBy(command)));
    });
  }
}
