import { randomBytes, randomUUID } from 'node:crypto';
import { BusinessRejection } from '@sitesaga/messaging';
import { sealSecret } from '@sitesaga/secrets';
import { expectedSiteDatabaseName, siteLoginFor } from './site-login';

const key = randomBytes(32);
const siteId = '0f8fad5b-d9cb-469f-a165-70867728950e';
const databaseName = 'site_0f8fad5bd9cb469fa16570867728950e';
const sealed = (value: unknown, context = siteId, sealKey = key) => sealSecret(sealKey, value, { context });
const login = { user: databaseName, password: 'p4ssw0rd-of-the-site' };

const reasonOf = (work: () => unknown): string => {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(BusinessRejection);
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
};

describe('the site login of a BootstrapSite command', () => {
  it('follows the naming rule of apps/databases', () => {
    expect(expectedSiteDatabaseName(siteId)).toBe(databaseName);
  });

  it('opens credentials sealed for this site naming its own role', () => {
    expect(siteLoginFor(key, { siteId, databaseName, credentials: sealed(login) })).toEqual(login);
  });

  it('refuses another database, without quoting the input', () => {
    const reason = reasonOf(() => siteLoginFor(key, { siteId, databaseName: '"; drop database postgres;--', credentials: sealed(login) }));
    expect(reason).toMatch(/databaseName is not the database of site/);
    expect(reason).not.toContain('drop database');
    expect(reasonOf(() => siteLoginFor(key, { siteId, databaseName: 'postgres', credentials: sealed(login) }))).toMatch(/databaseName/);
  });

  it('refuses credentials that do not open: another key, another site, tampered, garbage', () => {
    expect(reasonOf(() => siteLoginFor(key, { siteId, databaseName, credentials: sealed(login, siteId, randomBytes(32)) }))).toMatch(/do not open/);
    expect(reasonOf(() => siteLoginFor(key, { siteId, databaseName, credentials: sealed(login, randomUUID()) }))).toMatch(/do not open/);
    expect(reasonOf(() => siteLoginFor(key, { siteId, databaseName, credentials: 'v1.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA' }))).toMatch(/do not open/);
  });

  it('refuses sealed values that are not the login of this site', () => {
    expect(reasonOf(() => siteLoginFor(key, { siteId, databaseName, credentials: sealed({ user: 'postgres', password: 'x' }) }))).toMatch(/not the login/);
    expect(reasonOf(() => siteLoginFor(key, { siteId, databaseName, credentials: sealed({ user: databaseName }) }))).toMatch(/do not hold/);
    expect(reasonOf(() => siteLoginFor(key, { siteId, databaseName, credentials: sealed('just text') }))).toMatch(/do not hold/);
  });
});
