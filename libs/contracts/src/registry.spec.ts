import { randomUUID } from 'node:crypto';
import { ContractViolation, CreateSite, parseEnvelope, ProvisionStorage, validateMessage } from './index';

const envelope = (overrides: Record<string, unknown> = {}) => ({
  id: randomUUID(),
  type: 'ProvisionStorage',
  version: 1,
  sagaId: randomUUID(),
  correlationId: randomUUID(),
  causationId: null,
  occurredAt: new Date().toISOString(),
  payload: { siteId: randomUUID() },
  ...overrides,
});

const reasonsOf = (work: () => unknown): string[] => {
  try {
    work();
  } catch (error) {
    if (error instanceof ContractViolation) return error.reasons.map((reason) => `${reason.field}: ${reason.message}`);
    throw error;
  }
  throw new Error('expected a ContractViolation');
};

const read = (value: unknown) => validateMessage(parseEnvelope(JSON.stringify(value)), 'storage.commands');

describe('message contracts', () => {
  it('accepts a valid envelope on its topic', () => {
    expect(read(envelope()).type).toBe('ProvisionStorage');
  });

  it('refuses an unknown type, an unsupported version and a missing field with a reason each', () => {
    expect(reasonsOf(() => read(envelope({ type: 'ProvisionRocket' })))).toEqual(['type: unknown message type ProvisionRocket']);
    expect(reasonsOf(() => read(envelope({ version: 2 })))).toEqual(['version: unsupported version 2 of ProvisionStorage']);
    const missing = envelope();
    delete (missing as Partial<typeof missing>).sagaId;
    expect(reasonsOf(() => read(missing))).toEqual(['sagaId: Required']);
  });

  it('refuses bytes that are not JSON, and a payload that breaks its schema', () => {
    expect(reasonsOf(() => parseEnvelope(Buffer.from('{nope')))[0]).toMatch(/^\(value\): not JSON/);
    expect(reasonsOf(() => read(envelope({ payload: { siteId: 'x', more: 1 } })))).toEqual([
      'payload.siteId: Invalid uuid',
      'payload.more: unknown field',
    ]);
  });

  it('refuses a message on a topic it does not belong to', () => {
    expect(reasonsOf(() => validateMessage(parseEnvelope(JSON.stringify(envelope())), 'sites.commands'))).toEqual([
      'type: ProvisionStorage belongs on storage.commands, not sites.commands',
    ]);
  });

  it('builds a message only from a valid payload, refusing non-canonical names and look-alikes instead of rewriting them', () => {
    const causation = { sagaId: randomUUID(), correlationId: randomUUID(), causationId: null };
    const built = CreateSite.create({ name: 'my-blog', domain: 'blog.example.com', adminEmail: 'a@example.com' }, causation);
    expect(built.payload).toEqual({ name: 'my-blog', domain: 'blog.example.com', adminEmail: 'a@example.com' });
    expect(() => CreateSite.create({ name: 'My-Blog', domain: 'Blog.Example.com.', adminEmail: 'a@example.com' }, causation)).toThrow(/did you mean "my-blog"/);
    // Full-width letters are not folded onto ASCII: the name sent is the name created, or none.
    expect(() => CreateSite.create({ name: 'ｍｙ-ｂｌｏｇ', domain: 'example.com', adminEmail: 'a@example.com' }, causation)).toThrow(/did you mean "my-blog"/);
    // Cyrillic "а" cannot pose as Latin "a".
    expect(() => CreateSite.create({ name: 'p\u0430ypal', domain: 'example.com', adminEmail: 'a@example.com' }, causation)).toThrow(/ASCII/);
    expect(() => CreateSite.create({ name: '../../etc', domain: 'example.com', adminEmail: 'a@example.com' }, causation)).toThrow(ContractViolation);
    expect(() => ProvisionStorage.create({ siteId: 'nope' }, causation)).toThrow(/payload.siteId/);
  });
});
