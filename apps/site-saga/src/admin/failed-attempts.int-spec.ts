import { randomUUID } from 'node:crypto';
import { type AdminTestApp, startAdminTestApp } from './testing/admin-test-app';
import { FailedAttempts } from './failed-attempts';
import { waitFor } from '../../../../test/support/wait-for';

/**
 * The throttle of wrong admin tokens is shared by the replicas: two admin modules on one
 * database (two replicas of site-saga) count the same failures, so an address cannot spread
 * its guesses over replicas; and the table stays bounded.
 */
jest.setTimeout(90_000);

const TOKEN = `admin-${randomUUID()}`;
const LIMIT = 3;
let first: AdminTestApp;
let second: AdminTestApp;

beforeAll(async () => {
  first = await startAdminTestApp({ adminToken: TOKEN, failedAttempts: { limit: LIMIT, windowMs: 60_000 } });
  const databaseUrl = String((first.dataSource.options as { url?: string }).url);
  second = await startAdminTestApp({ adminToken: TOKEN, failedAttempts: { limit: LIMIT, windowMs: 60_000 }, databaseUrl });
});

afterAll(async () => {
  await second?.close();
  await first?.close();
});

const signIn = (app: AdminTestApp, token: string) =>
  fetch(`${app.url}/admin/session`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });
const bearer = (app: AdminTestApp, token: string) => fetch(`${app.url}/admin/sagas`, { headers: { authorization: `Bearer ${token}` } });

describe('failed admin attempts, across replicas', () => {
  it('counts the wrong tokens of an address on every replica: past the limit both refuse it, the right token included', async () => {
    expect((await signIn(first, TOKEN)).status).toBe(303);
    // Two wrong sign-ins on one replica, one wrong bearer on the other: three in all.
    expect((await signIn(first, 'wrong-token-0123456789abcdef')).status).toBe(401);
    expect((await signIn(first, 'wrong-token-0123456789abcdef')).status).toBe(401);
    expect((await bearer(second, 'wrong-token-0123456789abcdef')).status).toBe(401);
    for (const app of [first, second]) {
      const refused = await signIn(app, TOKEN);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(50);
      expect((await bearer(app, TOKEN)).status).toBe(429);
    }
    // Kept in the shared table, as a few instants for one address.
    const rows = (await first.dataSource.query(`SELECT address, cardinality(failures) AS count FROM admin_failed_attempts`)) as { address: string; count: number }[];
    expect(rows).toEqual([{ address: expect.stringMatching(/127\.0\.0\.1/), count: LIMIT }]);
  });

  it('forgets an address once it signs in (its failures gone on every replica), and keeps the table bounded', async () => {
    await first.dataSource.query(`DELETE FROM admin_failed_attempts`);
    const attempts = new FailedAttempts(first.dataSource, 2, 60_000, 5);
    await attempts.fail('10.0.0.1');
    await attempts.fail('10.0.0.1');
    expect(await attempts.blockedFor('10.0.0.1')).toBeGreaterThan(50);
    const other = new FailedAttempts(second.dataSource, 2, 60_000, 5);
    expect(await other.blockedFor('10.0.0.1')).toBeGreaterThan(50);
    await other.succeed('10.0.0.1');
    expect(await attempts.blockedFor('10.0.0.1')).toBe(0);
    // A spray of addresses: at most 5 rows, the newest kept; each row at most `limit` instants.
    for (let i = 0; i < 12; i += 1) await attempts.fail(`10.0.1.${i}`);
    for (let i = 0; i < 5; i += 1) await attempts.fail('10.0.1.11');
    const rows = (await first.dataSource.query(`SELECT address, cardinality(failures) AS count FROM admin_failed_attempts ORDER BY address`)) as { address: string; count: number }[];
    expect(rows.length).toBe(5);
    expect(rows.map((row) => row.address)).toContain('10.0.1.11');
    expect(Math.max(...rows.map((row) => row.count))).toBe(2);
  });

  it('lets an address try again once its failures leave the window', async () => {
    await first.dataSource.query(`DELETE FROM admin_failed_attempts`);
    const attempts = new FailedAttempts(first.dataSource, 2, 1_500);
    await attempts.fail('10.0.2.1');
    await attempts.fail('10.0.2.1');
    expect(await attempts.blockedFor('10.0.2.1')).toBeGreaterThan(0);
    await waitFor(async () => (await attempts.blockedFor('10.0.2.1')) === 0, { within: '10s', what: 'the failures to leave the 1.5 s window' });
  });
});
