import type { QueryRunner } from 'typeorm';

/**
 * The one place that touches TypeORM QueryRunner internals. The unit of work opens its
 * transaction itself (BEGIN travels with the inbox INSERT, to save a round trip), so
 * TypeORM must be told a transaction is open, or `manager.save` would open one of its own.
 * TypeORM has no supported call for "a transaction is already open on this connection":
 * `startTransaction()` sends its own START TRANSACTION (the round trip we save), and
 * `save(..., { transaction: false })` would have to be repeated at every call site of every
 * service. So the two fields `startTransaction()` itself sets are set here, and cleared
 * before the runner goes back to the pool. Checked against typeorm ^0.3.27
 * (PostgresQueryRunner.startTransaction); `unit-of-work.int-spec.ts` fails if it changes.
 */
interface TransactionFlags {
  isTransactionActive: boolean;
  transactionDepth: number;
}

/** Tells `runner` that the transaction its connection just began is its own. */
export function adoptTransaction(runner: QueryRunner): void {
  const flags = runner as unknown as TransactionFlags;
  flags.isTransactionActive = true;
  flags.transactionDepth = 1;
}

/** Forgets it again (after COMMIT or ROLLBACK), before the runner is released. */
export function forgetTransaction(runner: QueryRunner): void {
  const flags = runner as unknown as TransactionFlags;
  flags.isTransactionActive = false;
  flags.transactionDepth = 0;
}
