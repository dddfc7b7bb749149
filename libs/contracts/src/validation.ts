import type { ZodError } from 'zod';

/** A field-level reason, as clients see it in HTTP 400 bodies and `SiteCreationRejected`. */
export interface FieldReason {
  readonly field: string;
  readonly message: string;
}

export const fieldReasonsOf = (error: ZodError, prefix = ''): FieldReason[] =>
  error.issues.flatMap((issue) => {
    const path = issue.path.join('.');
    const field = [prefix, path].filter(Boolean).join('.') || '(root)';
    if (issue.code === 'unrecognized_keys') {
      // One reason per unknown key: `{ a, b }` are two fields, not a path `a.b`.
      return issue.keys.map((key) => ({ field: [prefix, ...issue.path, key].filter(Boolean).join('.'), message: 'unknown field' }));
    }
    return [{ field, message: issue.message }];
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
