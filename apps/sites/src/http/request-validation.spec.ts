import { BadRequestException } from '@nestjs/common';
import { requestIdOf, validateCreateSite, validateIdempotencyKey, validateListQuery, validateSiteId } from './request-validation';

const errorsOf = (work: () => unknown): unknown => {
  try {
    work();
  } catch (error) {
    if (error instanceof BadRequestException) return (error.getResponse() as { errors: unknown }).errors;
    throw error;
  }
  throw new Error('expected a 400');
};

const valid = { name: 'my-blog', domain: 'blog.example.com', adminEmail: 'owner@example.com' };

describe('request validation', () => {
  it('normalises a valid site request to its canonical form', () => {
    expect(validateCreateSite({ ...valid, name: 'My-Blog', domain: 'Blog.Example.COM.' })).toEqual({ ...valid });
  });

  it('names every bad field: hostile names, unknown fields, wrong types, empty strings', () => {
    expect(errorsOf(() => validateCreateSite({ ...valid, name: '../../etc' }))).toEqual([
      { field: 'name', message: 'must be lowercase letters, digits and hyphens, not starting or ending with a hyphen' },
    ]);
    expect(errorsOf(() => validateCreateSite({ ...valid, role: 'admin', debug: true }))).toEqual([
      { field: 'role', message: 'unknown field' },
      { field: 'debug', message: 'unknown field' },
    ]);
    expect(errorsOf(() => validateCreateSite({ ...valid, name: 42, adminEmail: '' }))).toEqual([
      { field: 'name', message: 'must be a string' },
      { field: 'adminEmail', message: 'must be an email address' },
    ]);
    expect(errorsOf(() => validateCreateSite({ domain: 'blog.example.com' }))).toEqual([
      { field: 'name', message: 'is required' },
      { field: 'adminEmail', message: 'is required' },
    ]);
  });

  it('refuses a body that is not a JSON object', () => {
    for (const body of [undefined, null, [], 'name=blog', 7]) {
      expect(errorsOf(() => validateCreateSite(body))).toEqual([{ field: '(body)', message: 'must be a JSON object' }]);
    }
  });

  it('accepts only uuids as site ids', () => {
    expect(validateSiteId('3F2504E0-4F89-11D3-9A0C-0305E82C3301')).toBe('3f2504e0-4f89-11d3-9a0c-0305e82c3301');
    for (const id of ['../../etc', '1 OR 1=1', '', '3f2504e0-4f89-11d3-9a0c-0305e82c3301/..']) {
      expect(errorsOf(() => validateSiteId(id))).toEqual([{ field: 'id', message: 'must be a uuid' }]);
    }
  });

  it('checks the list filter and refuses unknown parameters', () => {
    expect(validateListQuery({})).toEqual({ limit: 100 });
    expect(validateListQuery({ status: 'ACTIVE', limit: '5' })).toEqual({ status: 'ACTIVE', limit: 5 });
    expect(errorsOf(() => validateListQuery({ status: 'active', limit: '0', sort: 'x' }))).toEqual([
      { field: 'sort', message: 'unknown query parameter' },
      { field: 'status', message: 'must be one of PENDING, ACTIVE, FAILED, DELETING, DELETED' },
      { field: 'limit', message: 'must be an integer from 1 to 500' },
    ]);
    expect(errorsOf(() => validateListQuery({ status: ['ACTIVE', 'FAILED'] }))).toEqual([
      { field: 'status', message: 'must be one of PENDING, ACTIVE, FAILED, DELETING, DELETED' },
    ]);
  });

  it('accepts a sane Idempotency-Key and request id only', () => {
    expect(validateIdempotencyKey(undefined)).toBeNull();
    expect(validateIdempotencyKey('order-42')).toBe('order-42');
    expect(errorsOf(() => validateIdempotencyKey('has space'))).toEqual([{ field: 'Idempotency-Key', message: 'must be 1 to 200 visible ASCII characters' }]);
    expect(requestIdOf('req-12345678')).toBe('req-12345678');
    expect(requestIdOf('<script>')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
