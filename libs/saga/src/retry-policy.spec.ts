import { toMilliseconds } from './duration';
import { backoffDelay, resolveRetryPolicy } from './retry-policy';

const policy = resolveRetryPolicy({ maxAttempts: 10, backoff: '1s', factor: 2, jitter: 0.2, maxBackoff: '30s' });
const noJitter = { ...policy, jitter: 0 };

describe('backoffDelay', () => {
  it('grows by the factor after each failed send', () => {
    expect([1, 2, 3, 4].map((attempt) => backoffDelay(noJitter, attempt))).toEqual([1_000, 2_000, 4_000, 8_000]);
  });

  it('never waits longer than maxBackoff before jitter', () => {
    expect(backoffDelay(noJitter, 6)).toBe(30_000);
    expect(backoffDelay(noJitter, 50)).toBe(30_000);
  });

  it('spreads each wait within ±jitter of its nominal value', () => {
    for (const attempt of [1, 3, 9]) {
      const nominal = backoffDelay(noJitter, attempt);
      expect(backoffDelay(policy, attempt, () => 0)).toBe(nominal * 0.8);
      expect(backoffDelay(policy, attempt, () => 0.999_999)).toBeCloseTo(nominal * 1.2, -1);
      for (let sample = 0; sample < 200; sample += 1) {
        const wait = backoffDelay(policy, attempt);
        expect(wait).toBeGreaterThanOrEqual(nominal * 0.8);
        expect(wait).toBeLessThanOrEqual(nominal * 1.2);
      }
    }
  });

  it('refuses a policy that cannot work', () => {
    expect(() => resolveRetryPolicy({ maxAttempts: 0, backoff: '1s', factor: 2, jitter: 0 })).toThrow(/maxAttempts/);
    expect(() => resolveRetryPolicy({ maxAttempts: 3, backoff: '1s', factor: 2, jitter: 1.5 })).toThrow(/jitter/);
  });
});

describe('toMilliseconds', () => {
  it('reads the durations people write', () => {
    expect([toMilliseconds('500ms'), toMilliseconds('30s'), toMilliseconds('2m'), toMilliseconds('1h'), toMilliseconds(250), toMilliseconds('1.5s')]).toEqual([
      500, 30_000, 120_000, 3_600_000, 250, 1_500,
    ]);
  });

  it('refuses anything else', () => {
    expect(() => toMilliseconds('30 seconds' as never)).toThrow(/invalid duration/);
    expect(() => toMilliseconds(-1)).toThrow(/invalid duration/);
  });
});
