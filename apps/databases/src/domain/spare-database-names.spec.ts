import { randomUUID } from 'node:crypto';
import { siteDatabaseNames } from '@sitesaga/contracts';
import { ANY_POOL_DATABASE, spareDatabaseNames } from './spare-database-names';

const VERSION = '0123456789ab';
const SITE_NAME = /^site_[0-9a-f]{32}$/;

describe('spare database names', () => {
  it('can never be the name of a site, whatever the prefix', () => {
    for (const prefix of ['', 'sitesaga_', 'site_', 'site_0123456789abcdef', 'e2e_resilience_a1b2c3_', 'x'.repeat(32)]) {
      const names = spareDatabaseNames(prefix, VERSION);
      for (let i = 0; i < 50; i += 1) {
        const spare = names.newSpare();
        expect(spare).not.toMatch(SITE_NAME);
        expect(Buffer.byteLength(spare)).toBeLessThanOrEqual(63);
        expect(names.isSpare(spare)).toBe(true);
        expect(names.isCurrentSpare(spare)).toBe(true);
      }
      for (const name of [names.template, names.templateBuild]) {
        expect(name).not.toMatch(SITE_NAME);
        expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
      }
    }
  });

  it('never takes a site, another deployment, or another version for a spare of its own', () => {
    const names = spareDatabaseNames('sitesaga_', VERSION);
    expect(names.isSpare(siteDatabaseNames(randomUUID()).databaseName)).toBe(false);
    expect(names.isSpare(spareDatabaseNames('other_', VERSION).newSpare())).toBe(false);
    expect(names.isSpare(spareDatabaseNames('sitesaga_x_', VERSION).newSpare())).toBe(false);
    const older = spareDatabaseNames('sitesaga_', 'ffffffffffff').newSpare();
    expect(names.isSpare(older)).toBe(true);
    expect(names.isCurrentSpare(older)).toBe(false);
    expect(names.isSpare(`${names.newSpare()}x`)).toBe(false);
  });

  it('refuses a prefix that would not fit or could break out of a name', () => {
    expect(() => spareDatabaseNames('x'.repeat(33), VERSION)).toThrow(/DATABASE_NAME_PREFIX/);
    expect(() => spareDatabaseNames('a"b', VERSION)).toThrow(/DATABASE_NAME_PREFIX/);
    expect(() => spareDatabaseNames('a-b', VERSION)).toThrow(/DATABASE_NAME_PREFIX/);
  });

  it('describes every pool database of any deployment, and no site, with ANY_POOL_DATABASE', () => {
    const any = new RegExp(ANY_POOL_DATABASE);
    for (const prefix of ['', 'sitesaga_', 'other_x_']) {
      const pool = spareDatabaseNames(prefix, VERSION);
      for (const name of [pool.newSpare(), pool.template, pool.templateBuild]) expect(name).toMatch(any);
    }
    expect(siteDatabaseNames(randomUUID()).databaseName).not.toMatch(any);
    expect('sitesaga_site_saga').not.toMatch(any);
  });
});
