import { ContractViolation, type FieldReason } from '@sitesaga/message-kit';
import { isConnectionFailure } from './connection-failure';

/**
 * A refusal for a business reason (invalid input, name taken, quota): retrying cannot
 * help, and the command did nothing. Handlers throw it; the unit of work turns it into
 * the command's failure event with `class: "business"`.
 */
export class BusinessRejection extends Error {
  /** The command's fields the refusal is about, when it is about fields: carried as `reasons` in the failure event. */
  readonly reasons: readonly FieldReason[] | undefined;

  constructor(message: string, options: { reasons?: readonly FieldReason[] } = {}) {
    super(message);
    this.name = 'BusinessRejection';
    this.reasons = options.reasons;
  }
}

/** Marks an error as worth retrying (a lost connection, a lock conflict). */
export class TransientFailure extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientFailure';
  }
}

/**
 * What retrying can change decides the kind:
 * - `business`: refused for a business reason (BusinessRejection): no retry, a failure event;
 * - `transient`: the line to a dependency failed (connection lost, server restarting,
 *   serialization conflict, resources exhausted): the same message may pass later;
 * - `unreadable`: the message itself is refused (a contract violation, or input Postgres
 *   refuses: a NUL byte, an over-long value, an invalid encoding, a constraint it breaks):
 *   every retry gets the same answer, so it goes to the DLQ (or a rejection) at once
 *   instead of blocking its partition;
 * - `unexpected`: anything else (a bug): a few retries, then the DLQ.
 */
export type FailureKind = 'business' | 'transient' | 'unreadable' | 'unexpected';

/**
 * SQLSTATEs worth a retry: serialization failure, deadlock and "statement completion
 * unknown" (40001, 40P01, 40003), connection exceptions (08xxx, except 08P01, see below),
 * insufficient resources (53xxx), operator intervention such as admin shutdown or "the
 * database system is starting up" (57P01 to 57P04), lock not available (55P03). As dbos'
 * `isPGRetriableTransactionError`.
 */
export function isRetriableSqlState(code: string): boolean {
  if (code === '08P01') return false;
  return (
    code === '40001' || code === '40P01' || code === '40003' || code === '55P03' || code.startsWith('08') || code.startsWith('53') || /^57P0[1-4]$/.test(code)
  );
}

/**
 * SQLSTATEs by which Postgres refuses the data itself, whatever the connection:
 * - class 22, data exception: 22021 invalid byte sequence (a NUL sent as a parameter),
 *   22001 value too long, 22P02 invalid text representation (a lone surrogate in jsonb),
 *   22P05 untranslatable character (\u0000 in jsonb), 22003 out of range …;
 * - class 23, integrity constraint violation caused by the input (a check, a not-null, a
 *   foreign key, a duplicate). Writers that can meet a concurrent duplicate use ON
 *   CONFLICT; what escapes is the input's. Exception: a duplicate in a system catalog
 *   (`pg_*` constraint, e.g. two sessions creating one role or type at once) is a race
 *   that the next attempt finds settled, so it stays transient;
 * - class 54, program limit exceeded (an index row too large, too many columns);
 * - 08P01 protocol violation: despite its class it is not the connection's fault; the
 *   server sends it for a NUL byte inside a literal of a simple query (a NUL in an
 *   envelope id once retried forever and blocked its partition).
 */
export function isInputRefusedSqlState(code: string, constraint?: unknown): boolean {
  if (code === '08P01') return true;
  if (code.startsWith('23')) return !isCatalogRace(code, constraint);
  return code.startsWith('22') || code.startsWith('54');
}

/** A duplicate in a system catalog: two sessions created one object at once (IF NOT EXISTS does not serialise them). */
const isCatalogRace = (code: string, constraint: unknown): boolean => code === '23505' && typeof constraint === 'string' && constraint.startsWith('pg_');

/**
 * Two sessions altered one catalog row at once (two ALTER ROLEs of one role): the second
 * waits for the first and, when it commits, fails with XX000 "tuple concurrently updated".
 * Postgres gives the race no SQLSTATE of its own; the next attempt finds the row settled.
 */
export function isCatalogUpdateRace(error: unknown): boolean {
  const { code, message } = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; message?: unknown };
  return code === 'XX000' && typeof message === 'string' && /^tuple concurrently (updated|deleted)$/.test(message);
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

export function classifyFailure(error: unknown): FailureKind {
  if (error instanceof BusinessRejection) return 'business';
  if (error instanceof ContractViolation) return 'unreadable';
  if (error instanceof TransientFailure) return 'transient';
  if (typeof error === 'object' && error !== null) {
    const candidate = error as { code?: unknown; constraint?: unknown; retriable?: unknown; driverError?: unknown; message?: unknown };
    if (candidate.retriable === true) return 'transient'; // kafkajs errors
    if (candidate.driverError) return classifyFailure(candidate.driverError); // TypeORM QueryFailedError
    if (typeof candidate.code === 'string') {
      if (SQLSTATE.test(candidate.code)) {
        if (isCatalogRace(candidate.code, candidate.constraint) || isCatalogUpdateRace(candidate)) return 'transient';
        if (isInputRefusedSqlState(candidate.code, candidate.constraint)) return 'unreadable';
        if (isRetriableSqlState(candidate.code)) return 'transient';
      }
    }
    // A socket error or a lost connection, however it is wrapped (connection-failure.ts).
    if (isConnectionFailure(error)) return 'transient';
  }
  return 'unexpected';
}

export const describeError = (error: unknown): string => (error instanceof Error ? error.message : String(error));
