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
  it('accepts a valid site request as sent, and refuses a non-canonical name or domain with a suggestion instead of rewriting it', () => {
    expect(validateCreateSite({ ...valid, tagline: 'Hello' })).toEqual({ ...valid, tagline: 'Hello' });
    expect(errorsOf(() => validateCreateSite({ ...valid, name: 'My-Blog', domain: 'Blog.Example.COM.', adminEmail: ' owner@example.com ' }))).toEqual([
      { field: 'name', message: 'must be lowercase letters, digits and hyphens (did you mean "my-blog"?)' },
      { field: 'domain', message: 'must be a lowercase host name without spaces or a trailing dot (did you mean "blog.example.com"?)' },
      { field: 'adminEmail', message: 'must be an email address without spaces (did you mean "owner@example.com"?)' },
    ]);
  });

  it('refuses control characters in any field or key, and bounds the reasons of a body with thousands of unknown fields', () => {
    expect(errorsOf(() => validateCreateSite({ ...valid, tagline: 'a\u0000b', 'x\ny': 1 }))).toEqual([
      { field: 'tagline', message: 'must not contain control characters (U+0000 to U+001F, U+007F)' },
      { field: 'x\\u000ay', message: 'unknown field' },
    ]);
    const many = Object.fromEntries(Array.from({ length: 500 }, (_, index) => [`k${index}`, index]));
    const reasons = errorsOf(() => validateCreateSite({ ...valid, ...many })) as { field: string }[];
    expect(reasons).toHaveLength(21);
    expect(reasons[20]).toEqual({ field: '(more)', message: 'and 480 more problems' });
    expect(errorsOf(() => validateCreateSite({ ...valid, ...many, ...Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`m${i}`, i])) }))).toEqual([
      { field: '(root)', message: 'has more than 1000 values' },
    ]);
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

  it('bounds the reasons for a query with a thousand unknown parameters, control characters escaped', () => {
    const query = Object.fromEntries(Array.from({ length: 1000 }, (_, index) => [`p\u0000${index}`, 'x']));
    const errors = errorsOf(() => validateListQuery(query)) as { field: string; message: string }[];
    expect(errors).toHaveLength(21);
    expect(errors[0]).toEqual({ field: 'p\\u00000', message: 'unknown query parameter' });
    expect(errors[20]).toEqual({ field: '(more)', message: 'and 980 more problems' });
  });

  it('accepts a sane Idempotency-Key and request id only', () => {
    expect(validateIdempotencyKey(undefined)).toBeNull();
    expect(validateIdempotencyKey('order-42')).toBe('order-42');
    expect(errorsOf(() => validateIdempotencyKey('has space'))).toEqual([{ field: 'Idempotency-Key', message: 'must be 1 to 200 visible ASCII characters' }]);
    expect(requestIdOf('req-12345678')).toBe('req-12345678');
    expect(requestIdOf('<script>')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
