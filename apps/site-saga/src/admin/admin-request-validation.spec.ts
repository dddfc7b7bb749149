import { BadRequestException } from '@nestjs/common';
import { decodeCursor, encodeCursor, validateAbortBody, validateListQuery, validateSagaId } from './admin-request-validation';

const fieldsOf = (run: () => unknown): string[] => {
  try {
    run();
  } catch (error) {
    if (error instanceof BadRequestException) return (error.getResponse() as { errors: { field: string }[] }).errors.map((entry) => entry.field);
    throw error;
  }
  return [];
};

describe('list query', () => {
  it('defaults the limit and treats empty fields as absent', () => {
    expect(validateListQuery({})).toEqual({ limit: 50 });
    expect(validateListQuery({ status: '', type: '', siteName: '', cursor: '' })).toEqual({ limit: 50 });
    expect(validateListQuery({ status: 'FAILED', type: 'CreateSite', siteName: 'my-blog', limit: '200' })).toEqual({ status: 'FAILED', type: 'CreateSite', siteName: 'my-blog', limit: 200 });
  });

  it('names every bad field', () => {
    expect(fieldsOf(() => validateListQuery({ status: 'DONE', limit: '201', type: 'a b', siteName: 'x\u0000', cursor: '!!', extra: '1' })).sort()).toEqual([
      'cursor',
      'extra',
      'limit',
      'siteName',
      'status',
      'type',
    ]);
    expect(fieldsOf(() => validateListQuery({ limit: '0' }))).toEqual(['limit']);
    expect(fieldsOf(() => validateListQuery({ status: ['RUNNING', 'FAILED'] }))).toEqual(['status']);
  });

  it('hands out cursors it takes back, and nothing else', () => {
    const cursor = { createdAt: '2024-11-23T10:00:00.123456', id: 'aaaaaaaa-0000-4000-8000-000000000001' };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
    expect(validateListQuery({ cursor: encodeCursor(cursor) }).cursor).toEqual(cursor);
    for (const forged of ['2024-11-23T10:00:00.123456|not-a-uuid', `2024-11-23 10:00|${cursor.id}`, `${cursor.createdAt}|${cursor.id}|x`, "'; DROP TABLE saga_instances; --"]) {
      expect(decodeCursor(Buffer.from(forged).toString('base64url'))).toBeNull();
    }
  });
});

describe('saga id and abort body', () => {
  it('takes a uuid, lower-cased', () => {
    expect(validateSagaId('AAAAAAAA-0000-4000-8000-000000000001')).toBe('aaaaaaaa-0000-4000-8000-000000000001');
    expect(fieldsOf(() => validateSagaId('42'))).toEqual(['id']);
  });

  it('takes an optional reason', () => {
    expect(validateAbortBody(undefined)).toEqual({ reason: 'by an operator' });
    expect(validateAbortBody({})).toEqual({ reason: 'by an operator' });
    expect(validateAbortBody({ reason: '  customer cancelled ' })).toEqual({ reason: 'customer cancelled' });
    expect(fieldsOf(() => validateAbortBody({ reason: 42 }))).toEqual(['reason']);
    expect(fieldsOf(() => validateAbortBody({ reason: 'x'.repeat(501) }))).toEqual(['reason']);
    expect(fieldsOf(() => validateAbortBody({ why: 'x' }))).toEqual(['why']);
    expect(fieldsOf(() => validateAbortBody([]))).toEqual(['(body)']);
  });
});
