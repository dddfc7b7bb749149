import { UsageError } from '../cli-errors';
import { parseCommandLine } from './command-line';

describe('saga bulk and saga audit-log arguments', () => {
  it('reads a bulk retry with its filter, rate and confirmation', () => {
    expect(parseCommandLine(['bulk', 'retry', '--status', 'failed', '--step', 'ProvisionDatabase', '--rate', '5', '--yes'])).toMatchObject({
      command: 'bulk',
      action: 'retry',
      filter: { status: 'FAILED', step: 'ProvisionDatabase' },
      rate: 5,
      yes: true,
      dryRun: false,
    });
    expect(parseCommandLine(['bulk', 'status'])).toMatchObject({ command: 'bulk', action: 'status' });
  });

  it('refuses a bulk without a filter, an abort without a reason, a bad rate or action', () => {
    expect(() => parseCommandLine(['bulk', 'retry'])).toThrow(/at least one filter/);
    expect(() => parseCommandLine(['bulk', 'abort', '--status', 'RUNNING'])).toThrow(/--reason/);
    expect(() => parseCommandLine(['bulk', 'retry', '--status', 'FAILED', '--rate', '0'])).toThrow(UsageError);
    expect(() => parseCommandLine(['bulk', 'delete', '--status', 'FAILED'])).toThrow(/retry, abort or status/);
    expect(parseCommandLine(['bulk', 'abort', '--status', 'RUNNING', '--dry-run'])).toMatchObject({ dryRun: true });
  });

  it('reads audit-log filters', () => {
    expect(parseCommandLine(['audit-log', '--operator', 'alice', '--action', 'bulk-retry', '--limit', '5'])).toMatchObject({
      command: 'audit-log',
      operator: 'alice',
      auditAction: 'bulk-retry',
      limit: 5,
    });
    expect(() => parseCommandLine(['audit-log', '--saga', 'nope'])).toThrow(/uuid/);
  });
});
