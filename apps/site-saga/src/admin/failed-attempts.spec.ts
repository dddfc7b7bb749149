import { FailedAttempts } from './failed-attempts';

describe('FailedAttempts', () => {
  it('refuses an address after the limit of failures within the window, and lets it try once the window passed', () => {
    let now = 1_000_000;
    const attempts = new FailedAttempts(3, 60_000, 100, () => now);
    for (let i = 0; i < 3; i += 1) {
      expect(attempts.blockedFor('10.0.0.1')).toBe(0);
      attempts.fail('10.0.0.1');
      now += 1_000;
    }
    expect(attempts.blockedFor('10.0.0.1')).toBe(57);
    expect(attempts.blockedFor('10.0.0.2')).toBe(0);
    now += 57_000;
    expect(attempts.blockedFor('10.0.0.1')).toBe(0);
  });

  it('forgets an address that signed in, and tracks a bounded number of addresses', () => {
    const attempts = new FailedAttempts(1, 60_000, 2);
    attempts.fail('a');
    attempts.succeed('a');
    expect(attempts.blockedFor('a')).toBe(0);
    attempts.fail('b');
    attempts.fail('c');
    attempts.fail('d');
    expect(attempts.blockedFor('b')).toBe(0);
    expect(attempts.blockedFor('d')).toBeGreaterThan(0);
  });
});
