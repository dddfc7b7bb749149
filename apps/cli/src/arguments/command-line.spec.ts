import { UsageError } from '../cli-errors';
import { COMMAND_NAMES, parseCommandLine } from './command-line';
import { commandHelp, generalHelp } from './help-text';

const sagaId = '6f1c2d3e-0000-4000-8000-000000000001';

const usageErrorOf = (argv: string[]): string => {
  try {
    parseCommandLine(argv);
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  throw new Error(`expected a usage error for ${argv.join(' ')}`);
};

describe('command line', () => {
  it('reads create-site with its options, defaulting to Kafka without follow', () => {
    expect(parseCommandLine(['create-site', '--name', 'my-blog', '--domain', 'blog.example.com', '--admin-email', 'me@example.com'])).toEqual({
      command: 'create-site',
      name: 'my-blog',
      domain: 'blog.example.com',
      adminEmail: 'me@example.com',
      via: 'kafka',
      follow: false,
      json: false,
      noColor: false,
    });
    expect(
      parseCommandLine(['create-site', '--name=shop', '--domain=shop.example.com', '--admin-email=a@b.co', '--tagline', 'Hi', '--via', 'http', '-f', '--token', 't0k']),
    ).toMatchObject({ name: 'shop', tagline: 'Hi', via: 'http', follow: true, token: 't0k' });
  });

  it('names every missing required option of create-site', () => {
    expect(usageErrorOf(['create-site', '--name', 'x'])).toBe('create-site: missing --domain, --admin-email');
  });

  it('refuses unknown commands, unknown options, extra arguments and bad values with the command named', () => {
    expect(usageErrorOf(['frobnicate'])).toBe('unknown command "frobnicate"');
    expect(usageErrorOf(['list', '--bogus'])).toBe("list: unknown option '--bogus'");
    expect(usageErrorOf(['show', sagaId, 'extra'])).toBe('show: unexpected argument "extra"');
    expect(usageErrorOf(['show'])).toBe('show: missing <sagaId>');
    expect(usageErrorOf(['retry', 'not-a-uuid'])).toBe('retry: <sagaId> must be a uuid, got "not-a-uuid"');
    expect(usageErrorOf(['delete-site', sagaId, '--via', 'carrier-pigeon'])).toBe('delete-site: --via must be kafka or http, got "carrier-pigeon"');
    expect(usageErrorOf(['list', '--limit', '0'])).toBe('list: --limit must be an integer from 1 to 1000, got "0"');
    expect(usageErrorOf(['list', '--status', 'DONE'])).toMatch(/^list: --status must be one of RUNNING, COMPENSATING/);
    expect(usageErrorOf(['abort', sagaId, '--reason', 'x'.repeat(501)])).toBe('abort: --reason must be 1 to 500 characters');
    expect(usageErrorOf(['create-site', '--name', 'a', '--domain', 'b.c', '--admin-email', 'a@b.c', '--sites-url', 'http://x'])).toBe(
      'create-site: --sites-url goes with --via http',
    );
    expect(usageErrorOf(['--json'])).toBe('expected a command before "--json"');
  });

  it('reads list filters, normalising the status, with a default limit', () => {
    expect(parseCommandLine(['list', '--status', 'failed', '--type', 'CreateSite', '--site-name', 'my-blog', '--json'])).toEqual({
      command: 'list',
      status: 'FAILED',
      type: 'CreateSite',
      siteName: 'my-blog',
      limit: 20,
      json: true,
      noColor: false,
    });
  });

  it('reads the saga commands, lower-casing ids', () => {
    expect(parseCommandLine(['show', sagaId.toUpperCase(), '--follow'])).toMatchObject({ command: 'show', sagaId, follow: true });
    expect(parseCommandLine(['abort', sagaId, '--reason', 'customer cancelled'])).toMatchObject({ command: 'abort', sagaId, reason: 'customer cancelled', follow: false });
    expect(parseCommandLine(['tail', '--status', 'compensated', '--no-color'])).toMatchObject({ command: 'tail', status: 'COMPENSATED', noColor: true });
    expect(parseCommandLine(['stats', '--admin-url', 'http://admin:3000'])).toMatchObject({ command: 'stats', adminUrl: 'http://admin:3000' });
  });

  it('answers help in every form, for the tool and for each command', () => {
    expect(parseCommandLine([])).toEqual({ command: 'help' });
    expect(parseCommandLine(['--help'])).toEqual({ command: 'help' });
    expect(parseCommandLine(['help', 'list'])).toEqual({ command: 'help', topic: 'list' });
    expect(parseCommandLine(['create-site', '--help'])).toEqual({ command: 'help', topic: 'create-site' });
    expect(parseCommandLine(['tail', '-h'])).toEqual({ command: 'help', topic: 'tail' });
    expect(parseCommandLine(['--version'])).toEqual({ command: 'version' });
    for (const name of COMMAND_NAMES) {
      expect(generalHelp()).toContain(`  ${name}`);
      expect(commandHelp(name)).toContain(`usage: saga ${name}`);
    }
    expect(commandHelp('abort')).toContain('--reason <text>');
  });
});
