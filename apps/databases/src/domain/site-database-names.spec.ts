import { randomUUID } from 'node:crypto';
import { siteDatabaseNames } from '@sitesaga/contracts';
import { quoteIdentifier, quoteLiteral } from './sql-quoting';

describe('site database names', () => {
  it('derives one 37-byte name of [a-z0-9_] from the site id, the same on every call', () => {
    const names = siteDatabaseNames('0F8FAD5B-D9CB-469F-A165-70867728950E');
    expect(names).toEqual({ databaseName: 'site_0f8fad5bd9cb469fa16570867728950e', roleName: 'site_0f8fad5bd9cb469fa16570867728950e' });
    expect(Buffer.byteLength(names.databaseName)).toBe(37);
    expect(siteDatabaseNames('0f8fad5b-d9cb-469f-a165-70867728950e')).toEqual(names);
  });

  it('stays under the 63-byte limit, so two sites never truncate onto one name', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      const { databaseName } = siteDatabaseNames(randomUUID());
      expect(Buffer.byteLength(databaseName)).toBeLessThanOrEqual(63);
      expect(databaseName).toMatch(/^site_[0-9a-f]{32}$/);
      seen.add(databaseName.slice(0, 63));
    }
    expect(seen.size).toBe(2_000);
    // Ids that differ only in their last digit stay apart.
    expect(siteDatabaseNames('00000000-0000-4000-8000-000000000001').databaseName).not.toBe(
      siteDatabaseNames('00000000-0000-4000-8000-000000000002').databaseName,
    );
  });

  it('refuses anything that is not a UUID, so no client text reaches a DDL statement', () => {
    expect(() => siteDatabaseNames('"; drop database postgres;--')).toThrow(/UUID/);
    expect(() => siteDatabaseNames('0f8fad5b-d9cb-469f-a165-70867728950e ')).toThrow(/UUID/);
  });
});

describe('SQL quoting', () => {
  it('quotes identifiers and literals by doubling their quote character', () => {
    expect(quoteIdentifier('site_1')).toBe('"site_1"');
    expect(quoteIdentifier('a"; drop database postgres;--')).toBe('"a""; drop database postgres;--"');
    expect(quoteLiteral("it's")).toBe("'it''s'");
  });

  it('refuses a NUL byte and an identifier Postgres would truncate', () => {
    expect(() => quoteIdentifier('a\0b')).toThrow(/NUL/);
    expect(() => quoteIdentifier('x'.repeat(64))).toThrow(/63 bytes/);
    expect(() => quoteLiteral('a\0b')).toThrow(/NUL/);
  });
});
