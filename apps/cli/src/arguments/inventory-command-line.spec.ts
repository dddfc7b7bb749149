import { UsageError } from '../cli-errors';
import { parseCommandLine } from './command-line';

describe('the orphan and site commands on the command line', () => {
  it('reads saga orphans, a dry-run repair by default, and saga site with its key', () => {
    expect(parseCommandLine(['orphans', '--json'])).toMatchObject({ command: 'orphans', json: true });
    expect(parseCommandLine(['repair-orphans'])).toMatchObject({ command: 'repair-orphans', execute: false });
    expect(
      parseCommandLine(['repair-orphans', '--execute', '--kind', 'directory,incomplete-site', '--site', 'AAAAAAAA-0000-4000-8000-000000000001']),
    ).toMatchObject({
      execute: true,
      kinds: ['directory', 'incomplete-site'],
      siteIds: ['aaaaaaaa-0000-4000-8000-000000000001'],
    });
    expect(parseCommandLine(['site', 'blog.example.com'])).toMatchObject({ command: 'site', key: 'blog.example.com' });
  });

  it('refuses an unknown kind, a site that is no uuid, and a site command without its key', () => {
    expect(() => parseCommandLine(['repair-orphans', '--kind', 'everything'])).toThrow(/--kind must be among directory, database/);
    expect(() => parseCommandLine(['repair-orphans', '--site', 'my-blog'])).toThrow(/--site takes site ids \(uuids\), got "my-blog"/);
    expect(() => parseCommandLine(['site'])).toThrow(UsageError);
    expect(() => parseCommandLine(['site'])).toThrow(/missing <key>/);
  });
});
