import { ContractViolation } from '@sitesaga/contracts';

/**
 * A refusal for a business reason (invalid input, name taken, quota): retrying cannot
 * help, and the command did nothing. Handlers throw it; the unit of work turns it into
 * the command's failure event with `class: "business"`.
 */
export class BusinessRejection extends Error {
  constructor(
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'BusinessRejection';
  }
}

/** Marks an error as worth retrying (a lost connection, a lock conflict). */
export class TransientFailure extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientFailure';
  }
}

export type FailureKind = 'business' | 'transient' | 'unreadable' | 'unexpected';

const TRANSIENT_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/**
 * SQLSTATE classes worth a retry: serialization failure and deadlock (40001, 40P01),
 * connection exceptions (08xxx), insufficient resources (53xxx), operator intervention
 * such as admin shutdown or "the database system is starting up" (57P0x), lock not
 * available (55P03). As dbos' `isPGRetriableTransactionError`.
 */
export function isRetriableSqlState(code: string): boolean {
  return code === '40001' || code === '40P01' || code === '55P03' || code.startsWith('08') || code.startsWith('53') || /^57P0[1-4]$/.test(code);
}

export function classifyFailure(error: unknown): FailureKind {
  if (error instanceof BusinessRejection) return 'business';
  if (error instanceof ContractViolation) return 'unreadable';
  if (error instanceof TransientFailure) return 'transient';
  if (typeof error === 'object' && error !== null) {
    const candidate = error as { code?: unknown; retriable?: unknown; driverError?: unknown; message?: unknown };
    if (candidate.retriable === true) return 'transient'; // kafkajs errors
    if (candidate.driverError) return classifyFailure(candidate.driverError); // TypeORM QueryFailedError
    if (typeof candidate.code === 'string') {
      if (TRANSIENT_NODE_CODES.has(candidate.code)) return 'transient';
      if (/^[0-9A-Z]{5}$/.test(candidate.code) && isRetriableSqlState(candidate.code)) return 'transient';
    }
    if (typeof candidate.message === 'string' && /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection lost/i.test(candidate.message)) {
      return 'transient';
    }
  }
  return 'unexpected';
}

export const describeError = (error: unknown): string => (error instanceof Error ? error.message : String(error));
