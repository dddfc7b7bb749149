import { AdminAuthenticator, cookieValue, SESSION_COOKIE, SESSION_TTL_SECONDS } from './admin-auth';

const TOKEN = 'a-long-random-admin-token';
const NOW = Date.parse('2024-11-23T10:00:00Z');

describe('AdminAuthenticator', () => {
  const authenticator = new AdminAuthenticator(TOKEN);

  it('refuses to start without a token', () => {
    expect(() => new AdminAuthenticator('')).toThrow(/ADMIN_TOKEN/);
  });

  it('accepts exactly the token as a bearer, whatever the scheme case', () => {
    expect(authenticator.authenticate({ authorization: `Bearer ${TOKEN}` })).toBe('bearer');
    expect(authenticator.authenticate({ authorization: `bearer ${TOKEN}` })).toBe('bearer');
    for (const authorization of [undefined, '', 'Bearer', `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, `Basic ${TOKEN}`, TOKEN, `Bearer ${TOKEN} extra`]) {
      expect(authenticator.authenticate({ authorization })).toBeNull();
    }
  });

  it('issues a session cookie that holds no token and expires', () => {
    const cookie = authenticator.sessionCookie(NOW);
    expect(cookie).not.toContain(TOKEN);
    expect(cookie).toMatch(new RegExp(`^${SESSION_COOKIE}=\\d+\\.[\\w-]{22}\\.[\\w-]+\\.[\\w-]{43}; Path=/admin; Max-Age=${SESSION_TTL_SECONDS}; HttpOnly; SameSite=Strict$`));
    expect(authenticator.sessionCookie(NOW, true)).toMatch(/; Secure$/);
    // Every sign-in is a session of its own (revocable alone).
    expect(authenticator.newSession(NOW)).not.toBe(authenticator.newSession(NOW));
    const session = cookieValue(cookie.split(';')[0], SESSION_COOKIE);
    expect(authenticator.authenticate({ cookie: `theme=dark; ${SESSION_COOKIE}=${session}` }, NOW + 1000)).toBe('cookie');
    expect(authenticator.authenticate({ cookie: `${SESSION_COOKIE}=${session}` }, NOW + SESSION_TTL_SECONDS * 1000 + 1)).toBeNull();
  });

  it('refuses a forged, altered or foreign session', () => {
    const session = authenticator.newSession(NOW);
    const [expires, id, operator, signature] = session.split('.') as [string, string, string, string];
    const other = new AdminAuthenticator('another-token').newSession(NOW);
    const otherId = authenticator.newSession(NOW).split('.')[1]!;
    for (const forged of [
      `${Number(expires) + 3600}.${id}.${operator}.${signature}`,
      `${expires}.${id}.${operator}.${signature.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))}`,
      `${expires}.${otherId}.${operator}.${signature}`,
      `${expires}.${id}.${Buffer.from('mallory').toString('base64url')}.${signature}`,
      other,
      'garbage',
      '',
    ]) {
      expect(authenticator.isSession(forged, NOW)).toBe(false);
    }
  });
});

describe('named operator tokens', () => {
  it('names the operator of a bearer token or a session, and accepts every named token', () => {
    const named = new AdminAuthenticator(TOKEN, [{ name: 'alice', secret: 'alice-token-0123456789' }]);
    expect(named.operatorOfRequest({ authorization: `Bearer ${TOKEN}` })).toBe('admin');
    expect(named.operatorOfRequest({ authorization: 'Bearer alice-token-0123456789' })).toBe('alice');
    expect(named.operatorOfRequest({ authorization: 'Bearer nobody-token-0123456789' })).toBeNull();
    const cookie = named.sessionCookie(NOW, false, 'alice').split(';')[0]!;
    expect(named.sessionOfRequest({ cookie }, NOW + 1000)?.operator).toBe('alice');
  });
});

describe('cookieValue', () => {
  it('finds one cookie among several', () => {
    expect(cookieValue('a=1; b=2;c=3', 'b')).toBe('2');
    expect(cookieValue('ab=1', 'b')).toBeUndefined();
    expect(cookieValue(undefined, 'b')).toBeUndefined();
  });
});
