import { ScrapeCache } from './scrape-cache';

describe('scrape-time reads', () => {
  it('shares one read between scrapes within the reuse window, and reads again after it', async () => {
    let reads = 0;
    const cache = new ScrapeCache(async () => ++reads, { reuseMs: 1_000, timeoutMs: 1_000 });
    expect(await Promise.all([cache.get(0), cache.get(10), cache.get(999)])).toEqual([1, 1, 1]);
    expect(await cache.get(1_000)).toBe(2);
  });

  it('serves the last good value when a read fails or is too slow, and retries a failed read at once', async () => {
    const outcomes: (() => Promise<number>)[] = [
      async () => 7,
      async () => Promise.reject(new Error('connection refused')),
      () => new Promise<number>(() => undefined), // a read that never answers
    ];
    const errors: unknown[] = [];
    const cache = new ScrapeCache(() => outcomes.shift()!(), { reuseMs: 60_000, timeoutMs: 20, onError: (error) => errors.push(error) });
    expect(await cache.get(0)).toBe(7);
    expect(await cache.get(60_000)).toBe(7);
    expect(errors).toHaveLength(1);
    expect(await cache.get(60_001)).toBe(7); // the failure was not reused: this read hangs, and times out
    expect(outcomes).toHaveLength(0);
  });

  it('has nothing to serve before its first good read', async () => {
    const cache = new ScrapeCache(async (): Promise<number> => Promise.reject(new Error('down')), { reuseMs: 0, timeoutMs: 20 });
    expect(await cache.get()).toBeNull();
  });
});
