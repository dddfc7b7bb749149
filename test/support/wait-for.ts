/**
 * Polls `check` until it returns something truthy, and returns that. Never sleep then
 * assert: wait for the fact, with a deadline that says what was awaited.
 *
 *   const saga = await waitFor(() => sagaStatus(id) === 'COMPENSATED' && id, { within: '20s', what: 'saga compensated' });
 *
 * On the deadline it throws an Error naming `what`, the last value and the last error
 * `check` threw (a throwing check is retried, like a falsy one).
 */
export type Duration = number | `${number}ms` | `${number}s` | `${number}m`;

export interface WaitForOptions {
  /** Deadline: milliseconds, or '500ms', '20s', '2m'. */
  within: Duration;
  /** What is awaited, for the error message: 'saga compensated'. */
  what: string;
  /** Pause between checks in milliseconds. Default 100. */
  interval?: number;
}

type Falsy = undefined | null | false | 0 | '';

export async function waitFor<T>(check: () => Promise<T | Falsy> | T | Falsy, options: WaitForOptions): Promise<T> {
  const within = toMilliseconds(options.within);
  const interval = options.interval ?? 100;
  const deadline = Date.now() + within;
  let attempts = 0;
  let lastValue: unknown;
  let lastError: unknown;
  for (;;) {
    attempts += 1;
    try {
      const value = await check();
      if (value) return value;
      lastValue = value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(interval, remaining)));
  }
  const last = lastError !== undefined ? `last error: ${describe(lastError)}` : `last value: ${describe(lastValue)}`;
  const error = new Error(`timed out after ${formatDuration(within)} waiting for ${options.what} (${attempts} checks; ${last})`);
  if (lastError !== undefined) (error as Error & { cause?: unknown }).cause = lastError;
  throw error;
}

export function toMilliseconds(duration: Duration): number {
  if (typeof duration === 'number') return duration;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(duration.trim());
  if (!match?.[1] || !match[2]) throw new Error(`not a duration: '${duration}' (use 500ms, 20s, 2m or milliseconds)`);
  const amount = Number(match[1]);
  return match[2] === 'ms' ? amount : match[2] === 's' ? amount * 1000 : amount * 60_000;
}

function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return String(value);
    return text.length > 500 ? `${text.slice(0, 500)}…` : text;
  } catch {
    return String(value);
  }
}

/** Short name kept for callers written against the first version of this file. */
export const toMs = toMilliseconds;
