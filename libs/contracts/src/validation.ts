import type { ZodError } from 'zod';

/** A field-level reason, as clients see it in HTTP 400 bodies and `SiteCreationRejected`. */
export interface FieldReason {
  readonly field: string;
  readonly message: string;
}

export const fieldReasonsOf = (error: ZodError, prefix = ''): FieldReason[] =>
  error.issues.map((issue) => {
    const path = issue.path.join('.');
    const field = [prefix, path].filter(Boolean).join('.') || '(root)';
    if (issue.code === 'unrecognized_keys') {
      return { field: [prefix, ...issue.path, ...issue.keys].filter(Boolean).join('.') || '(root)', message: 'unknown field' };
    }
    return { field, message: issue.message };
  });

/** Thrown when a message or request does not match its schema. */
export class ContractViolation extends Error {
  constructor(
    message: string,
    readonly reasons: readonly FieldReason[],
  ) {
    super(`${message}: ${reasons.map((reason) => `${reason.field} ${reason.message}`).join('; ')}`);
    this.name = 'ContractViolation';
  }
}
