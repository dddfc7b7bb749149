/**
 * A figure read from the database when Prometheus scrapes (a prom-client `collect()`),
 * so nothing polls between scrapes. Three guards keep a scrape cheap and always answered:
 * - one read serves every scrape within `reuseMs` (several Prometheus servers, a person
 *   reloading /metrics) — concurrent scrapes share the read in flight;
 * - a read slower than `timeoutMs` (database down, pool exhausted) does not hold the
 *   scrape: the last good value is served instead;
 * - a failed read is not reused: the next scrape tries again.
 * Returns null only before the first successful read.
 */
export class ScrapeCache<T> {
  private value: T | null = null;
  private reading: { at: number; result: Promise<T> } | null = null;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly options: { readonly reuseMs: number; readonly timeoutMs: number; readonly onError?: (error: unknown) => void },
  ) {}

  async get(now = Date.now()): Promise<T | null> {
    if (!this.reading || now - this.reading.at >= this.options.reuseMs) {
      const result = this.read();
      const reading = { at: now, result };
      this.reading = reading;
      result.then(
        (value) => {
          this.value = value;
        },
        (error: unknown) => {
          if (this.reading === reading) this.reading = null;
          this.options.onError?.(error);
        },
      );
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), this.options.timeoutMs);
      timer.unref();
    });
    try {
      const fresh = await Promise.race([this.reading.result, timeout]);
      return fresh ?? this.value;
    } catch {
      return this.value;
    } finally {
      clearTimeout(timer);
    }
  }
}
