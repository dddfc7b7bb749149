import { type CommandDefinition, causedBy, definitionOf, type Envelope, type FailureClass } from '@sitesaga/contracts';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { recordInInbox } from '../inbox/inbox';
import { type BackoffPolicy, backoffDelay, delay } from '../retry/backoff';
import { classifyFailure, describeError } from '../retry/failure-classification';
import { writeOutbox } from './outbox-writer';
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
    const outcome = await this.dataSource.transaction(async (manager): Promise<UnitOfWorkOutcome<T>> => {
      if (cause && !(await recordInInbox(manager, this.options.consumer, cause.id, cause.type))) return { status: 'duplicate' };
      const tx = new OutboxTransaction(manager, cause);
      const result = await work(tx);
      await writeOutbox(manager, tx.pending);
      if (tx.pending.length > 0 && this.options.relayIsRemote?.()) await manager.query(`SELECT pg_notify('outbox_messages', '')`);
      return { status: 'done', result, published: tx.pending };
    });
    if (outcome.status === 'done' && outcome.published.length > 0) this.options.onOutboxWritten?.();
    return outcome;
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
