import { type Duration, toMilliseconds } from './duration';

/** How often and how patiently a step's command (or its compensation) is sent. */
export interface RetryPolicy {
  /** Sends in all, the first one included. */
  readonly maxAttempts: number;
  /** Wait before the second send. */
  readonly backoff: Duration;
  /** Each further wait is the previous one times `factor`. */
  readonly factor: number;
  /** 0.2 = each wait is spread ±20 % around its nominal value, so retries of many sagas do not march in step. */
  readonly jitter: number;
  /** Cap of the nominal wait (before jitter). */
  readonly maxBackoff?: Duration;
}

/** A RetryPolicy with its durations in milliseconds. */
export interface ResolvedRetryPolicy {
  readonly maxAttempts: number;
  readonly backoffMs: number;
  readonly factor: number;
  readonly jitter: number;
  readonly maxBackoffMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, backoff: '1s', factor: 2, jitter: 0.2, maxBackoff: '30s' };

export function resolveRetryPolicy(policy: RetryPolicy): ResolvedRetryPolicy {
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) throw new Error(`maxAttempts must be an integer >= 1, got ${policy.maxAttempts}`);
  if (!(policy.factor >= 1)) throw new Error(`factor must be >= 1, got ${policy.factor}`);
  if (!(policy.jitter >= 0 && policy.jitter < 1)) throw new Error(`jitter must be in [0, 1), got ${policy.jitter}`);
  const backoffMs = toMilliseconds(policy.backoff);
  return {
    maxAttempts: policy.maxAttempts,
    backoffMs,
    factor: policy.factor,
    jitter: policy.jitter,
    maxBackoffMs: policy.maxBackoff === undefined ? Number.POSITIVE_INFINITY : toMilliseconds(policy.maxBackoff),
  };
}

/**
 * Wait before the next send, after send number `attempt` (counting from 1) failed:
 * `backoff · factor^(attempt-1)`, capped at `maxBackoff`, then spread by ±`jitter`.
 * `random` returns a number in [0, 1); inject it to make the result deterministic.
 */
export function backoffDelay(policy: ResolvedRetryPolicy, attempt: number, random: () => number = Math.random): number {
  const nominal = Math.min(policy.maxBackoffMs, policy.backoffMs * policy.factor ** Math.max(0, attempt - 1));
  const spread = nominal * policy.jitter;
  return Math.max(0, Math.round(nominal - spread + random() * 2 * spread));
}
