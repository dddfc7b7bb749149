import { isLeftover, siteDirectoryFor, stagingDirectoryFor, UnsafeSitePath } from './site-directory';

const root = '/srv/sites';
const siteId = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';

describe('siteDirectoryFor', () => {
  it('names a direct child of the root after the site id, in lower case', () => {
    expect(siteDirectoryFor(root, siteId)).toBe(`/srv/sites/${siteId}`);
    expect(siteDirectoryFor('/srv/sites/', siteId.toUpperCase())).toBe(`/srv/sites/${siteId}`);
  });

  it.each([
    ['a parent traversal', '../../etc'],
    ['a traversal hidden after a uuid', `${siteId}/../../etc`],
    ['an absolute path', '/etc/passwd'],
    ['percent-encoded dots', '%2e%2e%2f%2e%2e%2fetc'],
    ['a NUL byte', `${siteId}\0`],
    ['a NUL byte inside', `3f2504e0-4f89-11d3-9a0c-0305e82c\u00003301`],
    ['a uuid with a trailing slash', `${siteId}/`],
    ['a uuid with a newline', `${siteId}\n`],
    ['a Windows separator', `..\\..\\etc`],
    ['full-width digits', '３f2504e0-4f89-11d3-9a0c-0305e82c3301'],
    ['an empty string', ''],
    ['a dot', '.'],
  ])('refuses %s', (_what, hostile) => {
    expect(() => siteDirectoryFor(root, hostile)).toThrow(UnsafeSitePath);
  });

  it('refuses values that are not strings', () => {
    for (const hostile of [undefined, null, 42, { toString: () => siteId }, [siteId]]) {
      expect(() => siteDirectoryFor(root, hostile)).toThrow(UnsafeSitePath);
    }
  });

  it('refuses a root that is not an absolute path', () => {
    expect(() => siteDirectoryFor('sites', siteId)).toThrow(UnsafeSitePath);
    expect(() => siteDirectoryFor('/srv/\0sites', siteId)).toThrow(UnsafeSitePath);
  });

  it('never resolves outside the root, whatever the input', () => {
    const samples = ['..', '../', '/..', `${siteId}/..`, '....//....//', 'a'.repeat(36), `${siteId.slice(0, 35)}/`];
    for (const sample of samples) {
      let directory: string | null = null;
      try {
        directory = siteDirectoryFor(root, sample);
      } catch {
        // refused: fine
      }
      if (directory !== null) expect(directory.startsWith(`${root}/`)).toBe(true);
    }
  });
});

describe('staging directories', () => {
  it('builds and deletes under dot names beside the site directory', () => {
    expect(stagingDirectoryFor(root, siteId, 'tmp', 'ab12cd')).toBe(`/srv/sites/.tmp-${siteId}-ab12cd`);
    expect(stagingDirectoryFor(root, siteId, 'trash', 'ab12cd')).toBe(`/srv/sites/.trash-${siteId}-ab12cd`);
    expect(() => stagingDirectoryFor(root, siteId, 'tmp', '../x')).toThrow(UnsafeSitePath);
  });

  it('counts a build older than a minute and any trash as leftovers, and nothing else', () => {
    const now = 1_000_000;
    expect(isLeftover(`.tmp-${siteId}-ab12cd`, now - 61_000, now)).toBe(true);
    expect(isLeftover(`.tmp-${siteId}-ab12cd`, now - 5_000, now)).toBe(false);
    expect(isLeftover(`.trash-${siteId}-ab12cd`, now, now)).toBe(true);
    expect(isLeftover(siteId, 0, now)).toBe(false);
    expect(isLeftover('.tmp-notes', 0, now)).toBe(false);
  });
});
