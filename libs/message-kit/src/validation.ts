import { type ZodError, z } from 'zod';
import { diagnosticText, printable } from './storable-text';

/** A field-level reason, as clients see it in HTTP 400 bodies and `SiteCreationRejected`. */
export interface FieldReason {
  readonly field: string;
  readonly message: string;
}

/**
 * How much of a refusal a client is told. A reason list is an answer sent over Kafka or
 * HTTP and stored in outbox rows, so its size must not grow with the input: a payload
 * with 60,000 unknown keys gets the first few reasons and a count, never 60,000 reasons
 * (a 2.7 MB rejection the broker refuses).
 */
export const REASON_LIMITS = {
  /** Reasons listed one by one; the rest are counted in one `(more)` reason. */
  reasons: 20,
  /** Characters of a field path (paths come from the input's keys). */
  field: 200,
  /** Characters of one message. */
  message: 500,
  /** Characters of a ContractViolation's error message. */
  summary: 2000,
} as const;

/** A field path or message as it may be shown and stored: control characters escaped, length capped. */
const boundedText = (text: string, max: number): string => {
  const safe = printable(text.length > max * 7 ? text.slice(0, max * 7) : text);
  return safe.length > max ? `${safe.slice(0, max - 1)}…` : safe;
};

/**
 * At most REASON_LIMITS.reasons reasons, each field and message printable and capped, then
 * one `{ field: '(more)', message: 'and N more problems' }` for the rest. `total` counts
 * every problem (default: the list's own count, a trailing `(more)` included), so bounding
 * a bounded list again changes nothing.
 */
export function boundReasons(reasons: readonly FieldReason[], total = countOf(reasons)): FieldReason[] {
  const listed = reasons.filter((reason) => !isMore(reason));
  const shown = listed.slice(0, REASON_LIMITS.reasons).map((reason) => ({
    field: boundedText(reason.field, REASON_LIMITS.field) || '(root)',
    message: boundedText(reason.message, REASON_LIMITS.message),
  }));
  const more = total - shown.length;
  return more > 0 ? [...shown, { field: '(more)', message: `and ${more} more problem${more === 1 ? '' : 's'}` }] : shown;
}

const MORE = /^and (\d+) more problems?$/;
const isMore = (reason: FieldReason): boolean => reason.field === '(more)' && MORE.test(reason.message);

/** How many problems a reason list stands for: its reasons, plus the count of a `(more)` reason. */
export const countOf = (reasons: readonly FieldReason[]): number =>
  reasons.reduce((count, reason) => count + (isMore(reason) ? Number(MORE.exec(reason.message)![1]) : 1), 0);

/** The reasons of a zod error, bounded (see REASON_LIMITS); zod's own list is never copied whole. */
export const fieldReasonsOf = (error: ZodError, prefix = ''): FieldReason[] => {
  const reasons: FieldReason[] = [];
  let total = 0;
  const add = (field: string, message: string) => {
    total += 1;
    if (reasons.length < REASON_LIMITS.reasons) reasons.push({ field, message });
  };
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      // One reason per unknown key: `{ a, b }` are two fields, not a path `a.b`.
      for (const key of issue.keys) add([prefix, ...issue.path, key].filter((part) => part !== '').join('.'), 'unknown field');
      continue;
    }
    add([prefix, issue.path.join('.')].filter(Boolean).join('.') || '(root)', issue.message);
  }
  return boundReasons(reasons, total);
};

/** Thrown when a message or request does not match its schema. Its reasons and message are bounded. */
export class ContractViolation extends Error {
  readonly reasons: readonly FieldReason[];

  constructor(message: string, reasons: readonly FieldReason[]) {
    const bounded = boundReasons(reasons);
    const summary = `${boundedText(message, REASON_LIMITS.message)}: ${bounded.map((reason) => `${reason.field} ${reason.message}`).join('; ')}`;
    super(summary.length > REASON_LIMITS.summary ? `${summary.slice(0, REASON_LIMITS.summary - 1)}…` : summary);
    this.name = 'ContractViolation';
    this.reasons = bounded;
  }
}

/**
 * A list of field reasons as a message carries it (a rejection event, a failure's
 * `reasons`): each field and message escaped and capped, the list bounded.
 */
export const fieldReasonList = z
  .array(z.object({ field: diagnosticText(REASON_LIMITS.field), message: diagnosticText(REASON_LIMITS.message) }).strict())
  .min(1)
  .transform((reasons) => boundReasons(reasons));
