import { UsageError } from '../cli-errors';
import { parseCommandLine } from './command-line';

describe('saga rehearse arguments', () => {
  it('takes a saga type and defaults', () => {
    expect(parseCommandLine(['rehearse', 'CreateSite'])).toEqual({
      command: 'rehearse',
      sagaType: 'CreateSite',
      concurrency: 4,
      caseTimeoutSeconds: 180,
      list: false,
      json: false,
      noColor: false,
    });
  });

  it('reads its options', () => {
    expect(
      parseCommandLine(['rehearse', 'DeleteSite', '--concurrency', '2', '--case-timeout', '60', '--only', '× crash', '--list', '--storage-root', '/srv/sites', '--json']),
    ).toMatchObject({ sagaType: 'DeleteSite', concurrency: 2, caseTimeoutSeconds: 60, only: '× crash', list: true, storageRoot: '/srv/sites', json: true });
  });

  it('refuses a missing or odd saga type and out-of-range numbers, saying which', () => {
    expect(() => parseCommandLine(['rehearse'])).toThrow(new UsageError('rehearse: missing <sagaType> (e.g. CreateSite)'));
    expect(() => parseCommandLine(['rehearse', 'Create Site'])).toThrow(/<sagaType> must be a saga type/);
    expect(() => parseCommandLine(['rehearse', 'CreateSite', '--concurrency', '0'])).toThrow(/--concurrency must be a whole number from 1 to 32, got "0"/);
    expect(() => parseCommandLine(['rehearse', 'CreateSite', '--case-timeout', 'soon'])).toThrow(/--case-timeout must be a whole number from 5 to 3600/);
  });
});
