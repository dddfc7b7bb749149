/**
 * Polls `check` until it returns a truthy value, or fails at the deadline naming what it
 * waited for and the last value or error seen. Tests wait on conditions, never on sleeps.
 */
export type Duration = number | `${number}ms` | `${number}s` | `${number}m`;

export const toMs = (duration: Duration): number => {
  if (typeof duration === 'number') return duration;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(duration);
  if (!match) throw new Error(`bad duration ${duration}`);
  const value = Number(match[1]);
  return match[2] === 'ms' ? value : match[2] === 's' ? value * 1000 : value * 60_000;
};

export async function waitFor<T>(
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  options: { within: Duration; what: string; interval?: number },
): Promise<T> {
  const deadline = Date.now() + toMs(options.within);
  const interval = options.interval ?? 100;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) {
      const seen = last instanceof Error ? `last error: ${last.message}` : `last value: ${JSON.stringify(last)}`;
      throw new Error(`timed out after ${options.within} waiting for ${options.what} (${seen})`);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}
