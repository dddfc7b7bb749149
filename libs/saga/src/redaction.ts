import type { SagaDefinition } from './define-saga';

export const REDACTED = '[redacted]';

/**
 * A copy of a saga's data fit for people (admin responses, logs): every key named in the
 * definition's `redact` is replaced wherever it occurs, nested objects and arrays included.
 */
export function redactSagaData<D>(definition: Pick<SagaDefinition<D>, 'redact'>, data: unknown): unknown {
  const secret = new Set(definition.redact);
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, secret.has(key) ? REDACTED : walk(inner)]));
  };
  return walk(data);
}
