import { AsyncLocalStorage } from 'node:async_hooks';
import type { EntityManager } from 'typeorm';
import { TransientFailure } from '../retry/failure-classification';
import type { DeferredWrite } from './deferred-writes';
import type { OutboxRecord } from './outbox-writer';

/**
 * A handler's unit of work failed inside a batch: the batch's transaction is rolled back
 * and its messages are handled again one by one, each in its own unit of work, where the
 * failure gets its usual treatment (retries, a failure event, a dead letter). Transient,
 * so a handler that sorts errors lets it through untouched.
 */
export class BatchAborted extends TransientFailure {
  constructor(readonly failure: unknown) {
    super(`the batch's unit of work was rolled back: ${failure instanceof Error ? failure.message : String(failure)}`, { cause: failure });
    this.name = 'BatchAborted';
  }
}

/**
 * One transaction shared by the handlers of a fetched batch (UnitOfWork.runBatch): each
 * handler's `run` joins it instead of opening its own, and resolves once it commits.
 */
export interface BatchScope {
  readonly owner: object;
  readonly manager: EntityManager;
  /** Causes whose inbox row already existed, or that a handler of the batch has handled: a run for them is a duplicate. */
  readonly duplicates: Set<string>;
  /** The batch goes in one round trip: a failed deferred write sends its messages one by one (Transaction.speculative). */
  readonly speculative: boolean;
  readonly records: OutboxRecord[];
  /** The transaction's shared map (Transaction.shared), one for every handler of the batch. */
  readonly shared: Map<string, unknown>;
  /** Every handler's deferred writes, in order: they run with the batch's COMMIT. */
  readonly deferred: DeferredWrite[];
  /** Settles when the batch commits (or rejects with BatchAborted when it is rolled back). */
  readonly committed: Promise<void>;
  /** The handler now running has finished its work: the batch may move to the next message. */
  reached: () => void;
  aborted: unknown;
  /** True once committed or rolled back: a later `run` in the same async context opens its own. */
  closed: boolean;
  inRun: boolean;
}

export const batchScope = new AsyncLocalStorage<BatchScope>();
