import { BadRequestException } from '@nestjs/common';
import { canonicalFilter, selectionOf, validateAuditLogQuery, validateBulkItemsQuery, validateBulkRequest } from './bulk-request-validation';

const fieldsOf = (run: () => unknown): string[] => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestException);
    return ((error as BadRequestException).getResponse() as { errors: { field: string }[] }).errors.map((each) => each.field).sort();
  }
  throw new Error('expected a 400');
};

describe('bulk request validation', () => {
  it('accepts a filter of the list and the new fields, and turns it into the engine selection', () => {
    const request = validateBulkRequest({
      action: 'retry',
      filter: {
        status: 'FAILED',
        step: 'ProvisionDatabase',
        error: '50%_off',
        createdFrom: '2026-01-01T00:00:00Z',
        createdBefore: '2026-01-02T00:00:00+01:00',
      },
    });
    expect(selectionOf(request.filter)).toEqual({
      status: 'FAILED',
      step: 'ProvisionDatabase',
      errorContains: '50%_off',
      createdFrom: new Date('2026-01-01T00:00:00Z'),
      createdBefore: new Date('2026-01-01T23:00:00Z'),
    });
  });

  it('names every bad field: unknown keys, bad status and times, rate out of range', () => {
    expect(
      fieldsOf(() => validateBulkRequest({ action: 'retry', filter: { status: 'NOPE', createdFrom: 'yesterday', colour: 'red' }, ratePerSecond: 101 })),
    ).toEqual(['filter.colour', 'filter.createdFrom', 'filter.status', 'ratePerSecond']);
    expect(fieldsOf(() => validateBulkRequest({ action: 'delete', filter: { status: 'FAILED' } }))).toEqual(['action']);
    expect(fieldsOf(() => validateBulkRequest([]))).toEqual(['(body)']);
  });

  it('refuses an empty filter, an empty time range, and an abort without a reason (a dry run needs none)', () => {
    expect(fieldsOf(() => validateBulkRequest({ action: 'retry', filter: {} }))).toEqual(['filter']);
    expect(
      fieldsOf(() => validateBulkRequest({ action: 'retry', filter: { createdFrom: '2026-01-02T00:00:00Z', createdBefore: '2026-01-01T00:00:00Z' } })),
    ).toEqual(['filter.createdBefore']);
    expect(fieldsOf(() => validateBulkRequest({ action: 'abort', filter: { status: 'RUNNING' } }))).toEqual(['reason']);
    expect(fieldsOf(() => validateBulkRequest({ action: 'abort', filter: { status: 'RUNNING' }, reason: 'x'.repeat(501) }))).toEqual(['reason']);
    expect(validateBulkRequest({ action: 'abort', filter: { status: 'RUNNING' }, dryRun: true })).toMatchObject({ dryRun: true });
  });

  it('writes the same filter as the same text, whatever the key order', () => {
    expect(JSON.stringify(canonicalFilter({ step: 'A', status: 'FAILED' }))).toBe(JSON.stringify(canonicalFilter({ status: 'FAILED', step: 'A' })));
  });

  it('checks the audit log and item queries', () => {
    expect(validateAuditLogQuery({ operator: 'alice', action: 'bulk-retry', limit: '10', cursor: '42' })).toEqual({
      operator: 'alice',
      action: 'bulk-retry',
      limit: 10,
      cursor: '42',
    });
    expect(fieldsOf(() => validateAuditLogQuery({ limit: '0', cursor: 'abc', action: 'drop', colour: 'red' }))).toEqual([
      'action',
      'colour',
      'cursor',
      'limit',
    ]);
    expect(fieldsOf(() => validateBulkItemsQuery({ outcome: 'maybe' }))).toEqual(['outcome']);
  });
});
