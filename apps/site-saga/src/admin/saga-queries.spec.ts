import type { SagaStats } from '@sitesaga/http-contracts';
import type { DataSource } from 'typeorm';
import type { HostSagaEngine } from './host-saga-engine';
import { SagaQueries } from './saga-queries';

/** SagaQueries whose stats() is a counted stand-in for the table scan, taking `readMs`. */
function queriesReading(readMs: () => number, fail = false): { queries: SagaQueries; reads: () => number } {
  const queries = new SagaQueries({} as DataSource, { find: () => undefined } as unknown as HostSagaEngine);
  let reads = 0;
  jest.spyOn(queries, 'stats').mockImplementation(async (now = new Date()) => {
    reads += 1;
    await new Promise((resolve) => setTimeout(resolve, readMs()));
    if (fail) throw new Error('the database is away');
    return { generatedAt: now.toISOString() } as SagaStats;
  });
  return { queries, reads: () => reads };
}

describe('SagaQueries.recentStats', () => {
  const t0 = 1_000_000;

  it('serves every caller within a second from one read', async () => {
    const { queries, reads } = queriesReading(() => 0);
    const first = await queries.recentStats(t0);
    expect(await queries.recentStats(t0 + 500)).toBe(first);
    expect(reads()).toBe(1);
    const later = await queries.recentStats(t0 + 1_001);
    expect(reads()).toBe(2);
    expect(later.generatedAt).toBe(new Date(t0 + 1_001).toISOString());
  });

  it('reuses a slow read for twenty times as long as it took, so a huge table is not scanned every second', async () => {
    const { queries, reads } = queriesReading(() => 150);
    const first = await queries.recentStats(t0);
    // A 150 ms read is reused for ≥ 3 s (more when the machine is slow: it is measured).
    expect(await queries.recentStats(t0 + 2_900)).toBe(first);
    expect(reads()).toBe(1);
    await queries.recentStats(t0 + 600_000);
    expect(reads()).toBe(2);
  });

  it('does not reuse a failed read', async () => {
    const { queries, reads } = queriesReading(() => 0, true);
    await expect(queries.recentStats(t0)).rejects.toThrow('the database is away');
    await expect(queries.recentStats(t0 + 10)).rejects.toThrow('the database is away');
    expect(reads()).toBe(2);
  });
});
