import type { Envelope } from '@sitesaga/message-kit';
import { escapeLiteral } from 'pg';

/**
 * A write whose result the handler does not read: it runs in the commit's round trip
 * (before the outbox rows), not in a round trip of its own. The statement must fail —
 * rolling the whole transaction back — when what it checks does not hold (e.g. a version
 * check raising SQLSTATE 40001): nothing reads a row count later.
 */
export interface DeferredWrite {
  /** One SQL statement with `$1`…`$n` placeholders (none inside string literals). */
  readonly sql: string;
  readonly params: readonly unknown[];
  /** The error to throw instead of the database's when this statement is the one that failed (else undefined). */
  readonly explainFailure?: (error: unknown) => Error | undefined;
}

/**
 * What the unit of work reads in the round trip that opens a message's transaction (with
 * BEGIN and the inbox rows): e.g. the state every message of a fetched batch needs, in one
 * statement instead of one per message. `accept` files the rows in the transaction's
 * shared map, where the handlers look first.
 */
export interface Preload {
  /** One literal SQL statement (no parameters), or null when there is nothing to read. */
  sql(causes: readonly Envelope[]): string | null;
  accept(rows: readonly Record<string, unknown>[], causes: readonly Envelope[], shared: Map<string, unknown>): void;
  /**
   * Fills `shared` from what this process committed last, and says whether that is all the
   * handlers of `causes` need. True lets a unit of work send its whole transaction — BEGIN,
   * inbox row, writes, outbox rows, COMMIT — in ONE round trip after the handler ran. What
   * it remembers may be stale (another process wrote since): the writes must then fail
   * (a version check), and the unit of work runs the message again the ordinary way.
   */
  recall?(causes: readonly Envelope[], shared: Map<string, unknown>): boolean;
  /** After a commit: `shared` holds what the database now holds. */
  committed?(shared: ReadonlyMap<string, unknown>): void;
  /** After a rollback: whatever `causes` and `shared` name may not be what the database holds. */
  forget?(causes: readonly Envelope[], shared: ReadonlyMap<string, unknown>): void;
}

const literal = (value: unknown): string => {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot inline the number ${value}`);
    return String(value);
  }
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (value instanceof Date) return escapeLiteral(value.toISOString());
  if (typeof value === 'string') return escapeLiteral(value);
  return escapeLiteral(JSON.stringify(value));
};

/**
 * The statement with its parameters written in as quoted literals, so that it can travel
 * in a multi-statement simple query (which takes no parameters). Placeholders are replaced
 * in one pass over the statement: a value that contains `$2` is never read as one.
 */
export function inlineParameters(sql: string, params: readonly unknown[]): string {
  return sql.replace(/\$(\d+)/g, (_, index: string) => {
    const position = Number(index);
    if (position < 1 || position > params.length) throw new Error(`statement names $${position} but has ${params.length} parameters`);
    return literal(params[position - 1]);
  });
}

/** The error a failed commit reports: the first deferred write that recognises it, else the database's own. */
export function explainCommitFailure(error: unknown, writes: readonly DeferredWrite[]): unknown {
  for (const write of writes) {
    const explained = write.explainFailure?.(error);
    if (explained) return explained;
  }
  return error;
}
