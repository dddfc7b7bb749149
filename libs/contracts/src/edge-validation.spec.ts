import { randomUUID } from 'node:crypto';
import {
  BootstrapSite,
  ContractViolation,
  CreateSite,
  checkPayload,
  createSitePayload,
  type FieldReason,
  parseEnvelope,
  printable,
  ProvisionStorage,
  REASON_LIMITS,
  SITE_LIMITS,
  SiteCreationRejected,
  validateMessage,
} from './index';

/**
 * The edge: what Postgres, the broker or a log line would refuse is refused here, with a
 * bounded list of field reasons, before any participant tries (and retries) to store it.
 */
const CONTROL_CHARACTERS = [...Array.from({ length: 0x20 }, (_, code) => String.fromCharCode(code)), '\u007f'];
const CONTROL = 'must not contain control characters (U+0000 to U+001F, U+007F)';
const SURROGATE = 'must be valid Unicode (no unpaired surrogates)';

const envelope = (overrides: Record<string, unknown> = {}) => ({
  id: randomUUID(),
  type: 'CreateSite',
  version: 1,
  sagaId: randomUUID(),
  correlationId: randomUUID(),
  causationId: null,
  occurredAt: new Date().toISOString(),
  payload: { name: 'my-blog', domain: 'blog.example.com', adminEmail: 'owner@example.com' },
  ...overrides,
});

const reasonsOf = (work: () => unknown): FieldReason[] => {
  try {
    work();
  } catch (error) {
    if (error instanceof ContractViolation) return [...error.reasons];
    throw error;
  }
  throw new Error('expected a ContractViolation');
};

const read = (value: unknown, topic = 'site-saga.commands') => validateMessage(parseEnvelope(JSON.stringify(value)), topic);
const payloadReasons = (payload: unknown) => {
  const checked = checkPayload(createSitePayload, payload, 'payload');
  return checked.success ? [] : checked.reasons;
};
const valid = { name: 'my-blog', domain: 'blog.example.com', adminEmail: 'owner@example.com' };

describe('envelope at the edge', () => {
  it.each(['id', 'correlationId', 'causationId'])('refuses every control character and a lone surrogate in %s', (field) => {
    for (const char of [...CONTROL_CHARACTERS, '\ud800', '\udc00']) {
      const reasons = reasonsOf(() => parseEnvelope(JSON.stringify(envelope({ [field]: `abc${char}def` }))));
      expect({ char: char.charCodeAt(0), reasons }).toEqual({
        char: char.charCodeAt(0),
        reasons: [{ field, message: char >= '\ud800' ? SURROGATE : CONTROL }],
      });
    }
  });

  it('refuses control characters in type, sagaId and occurredAt by their formats', () => {
    expect(reasonsOf(() => parseEnvelope(JSON.stringify(envelope({ type: 'Create\u0000Site' })))).map((reason) => reason.field)).toEqual(['type']);
    expect(reasonsOf(() => parseEnvelope(JSON.stringify(envelope({ sagaId: `${randomUUID()}\u0000` })))).map((reason) => reason.field)).toEqual(['sagaId']);
    expect(reasonsOf(() => parseEnvelope(JSON.stringify(envelope({ occurredAt: '2024-01-01T00:00:00Z\n' })))).map((reason) => reason.field)).toEqual([
      'occurredAt',
    ]);
    expect(reasonsOf(() => parseEnvelope(JSON.stringify(envelope({ occurredAt: '2024-02-31T00:00:00Z' })))).map((reason) => reason.field)).toEqual([
      'occurredAt',
    ]);
  });

  it('refuses bytes that are not UTF-8 instead of reading them as U+FFFD', () => {
    const bytes = Buffer.concat([Buffer.from(JSON.stringify(envelope()).slice(0, -2)), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]);
    expect(reasonsOf(() => parseEnvelope(bytes))).toEqual([{ field: '(value)', message: 'not UTF-8 text' }]);
  });

  it('reads an id with any printable Unicode, as sent', () => {
    const id = 'bestellung-äöü-😀';
    expect(parseEnvelope(JSON.stringify(envelope({ id }))).id).toBe(id);
  });

  it('names the JSON error without echoing control characters from the input', () => {
    const [reason] = reasonsOf(() => parseEnvelope(Buffer.from('{"id": "\u0000')));
    expect(reason?.field).toBe('(value)');
    expect(reason?.message).toMatch(/^not JSON/);
    expect(reason?.message).not.toMatch(/[\u0000-\u001f]/);
  });
});

describe('payload at the edge', () => {
  it('refuses a control character in every string field and key, deep, with a reason per field', () => {
    for (const char of CONTROL_CHARACTERS) {
      expect(payloadReasons({ ...valid, tagline: `a${char}b` })).toEqual([{ field: 'payload.tagline', message: CONTROL }]);
      expect(payloadReasons({ ...valid, adminEmail: `a${char}b@example.com` })).toEqual([{ field: 'payload.adminEmail', message: CONTROL }]);
    }
    expect(payloadReasons({ ...valid, extra: { deeper: [1, { 'bad\u0000key': 'x', fine: 'y\u0007' }] } })).toEqual([
      { field: 'payload.extra', message: 'unknown field' },
      { field: 'payload.extra.deeper.1.bad\\u0000key', message: `field name ${CONTROL}` },
      { field: 'payload.extra.deeper.1.fine', message: CONTROL },
    ]);
  });

  it('answers a CreateSite with a NUL in its name with field reasons a client can act on', () => {
    expect(reasonsOf(() => read(envelope({ payload: { ...valid, name: 'my\u0000blog' } })))).toEqual([{ field: 'payload.name', message: CONTROL }]);
  });

  it('refuses a deeply nested or huge payload with one reason, after a bounded walk', () => {
    const deep = JSON.stringify(envelope({ payload: { ...valid, deep: 'LEAF' } })).replace('"LEAF"', `${'['.repeat(100_000)}"leaf"${']'.repeat(100_000)}`);
    expect(reasonsOf(() => validateMessage(parseEnvelope(deep), 'site-saga.commands'))).toEqual([
      { field: 'payload.deep.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0', message: 'is nested deeper than 16 levels' },
    ]);
    const wide = Object.fromEntries(Array.from({ length: 60_000 }, (_, index) => [`key${index}`, index]));
    expect(reasonsOf(() => read(envelope({ payload: { ...valid, ...wide } })))).toEqual([{ field: 'payload', message: 'has more than 1000 values' }]);
    expect(reasonsOf(() => read(envelope({ payload: { ...valid, list: Array.from({ length: 5000 }, () => 0) } })))).toEqual([
      { field: 'payload.list', message: 'has more than 1000 values' },
    ]);
  });

  it('lists at most 20 reasons and counts the rest, each field and message capped', () => {
    const keys = Object.fromEntries(Array.from({ length: 900 }, (_, index) => [`${'k'.repeat(1000)}${index}`, index]));
    const reasons = reasonsOf(() => read(envelope({ payload: { ...valid, ...keys } })));
    expect(reasons).toHaveLength(REASON_LIMITS.reasons + 1);
    expect(reasons[REASON_LIMITS.reasons]).toEqual({ field: '(more)', message: 'and 880 more problems' });
    for (const reason of reasons) expect(reason.field.length).toBeLessThanOrEqual(REASON_LIMITS.field);
    const error = (() => {
      try {
        read(envelope({ payload: { ...valid, ...keys } }));
      } catch (caught) {
        return caught as Error;
      }
      throw new Error('expected a refusal');
    })();
    expect(error.message.length).toBeLessThanOrEqual(REASON_LIMITS.summary);
    expect(
      Buffer.byteLength(JSON.stringify(SiteCreationRejected.create({ reasons }, { sagaId: randomUUID(), correlationId: 'c', causationId: null }))),
    ).toBeLessThan(8_000);
  });

  it('bounds a ContractViolation built from any number of reasons', () => {
    const violation = new ContractViolation(
      'x'.repeat(10_000),
      Array.from({ length: 60_000 }, (_, index) => ({ field: `f\u0000${index}`, message: 'm'.repeat(5000) })),
    );
    expect(violation.reasons).toHaveLength(REASON_LIMITS.reasons + 1);
    expect(violation.reasons[0]!.field).toBe('f\\u00000');
    expect(violation.reasons[0]!.message.length).toBe(REASON_LIMITS.message);
    expect(violation.message.length).toBeLessThanOrEqual(REASON_LIMITS.summary);
  });

  it('keeps prototype-pollution keys as plain unknown fields', () => {
    const raw = `{"id":"${randomUUID()}","type":"CreateSite","version":1,"sagaId":"${randomUUID()}","correlationId":"c","occurredAt":"${new Date().toISOString()}",
      "payload":{"name":"my-blog","domain":"blog.example.com","adminEmail":"a@example.com","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}}`;
    expect(reasonsOf(() => validateMessage(parseEnvelope(raw), 'site-saga.commands'))).toEqual([
      { field: 'payload.__proto__', message: 'unknown field' },
      { field: 'payload.constructor', message: 'unknown field' },
    ]);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });
});

describe('names are refused, never rewritten', () => {
  const causation = { sagaId: randomUUID(), correlationId: randomUUID(), causationId: null };
  const nameReasons = (name: unknown) => payloadReasons({ ...valid, name });
  const domainReasons = (domain: unknown) => payloadReasons({ ...valid, domain });

  it('suggests the canonical form of a name with spaces, capitals or full-width letters', () => {
    expect(nameReasons(' acc-x ')).toEqual([{ field: 'payload.name', message: 'must be lowercase letters, digits and hyphens (did you mean "acc-x"?)' }]);
    expect(nameReasons('ACC-X')).toEqual([{ field: 'payload.name', message: 'must be lowercase letters, digits and hyphens (did you mean "acc-x"?)' }]);
    expect(nameReasons('ａｃｃ-ｘ')).toEqual([{ field: 'payload.name', message: 'must be lowercase letters, digits and hyphens (did you mean "acc-x"?)' }]);
    expect(nameReasons('acc-x\n')).toEqual([{ field: 'payload.name', message: 'must be lowercase letters, digits and hyphens (did you mean "acc-x"?)' }]);
  });

  it('refuses other bad names without a suggestion', () => {
    expect(nameReasons('p\u0430ypal')).toEqual([{ field: 'payload.name', message: 'must contain only ASCII letters, digits and hyphens' }]);
    expect(nameReasons('ab')).toEqual([{ field: 'payload.name', message: 'must be 3 to 63 characters' }]);
    expect(nameReasons('a'.repeat(64))).toEqual([{ field: 'payload.name', message: 'must be 3 to 63 characters' }]);
    expect(nameReasons('-blog')).toEqual([
      { field: 'payload.name', message: 'must be lowercase letters, digits and hyphens, not starting or ending with a hyphen' },
    ]);
    expect(nameReasons('my\u0000blog')).toEqual([{ field: 'payload.name', message: CONTROL }]);
    expect(nameReasons("a'; drop database postgres;--")).toEqual([
      { field: 'payload.name', message: 'must be lowercase letters, digits and hyphens, not starting or ending with a hyphen' },
    ]);
  });

  it('suggests the canonical domain for capitals, spaces and a trailing dot, and limits a domain to what WordPress stores', () => {
    const suggestion = 'must be a lowercase host name without spaces or a trailing dot (did you mean "blog.example.com"?)';
    for (const domain of ['Blog.Example.COM', 'blog.example.com.', ' blog.example.com', 'ｂｌｏｇ．example.com']) {
      expect(domainReasons(domain)).toEqual([{ field: 'payload.domain', message: suggestion }]);
    }
    const longest = `${'a'.repeat(60)}.${'b'.repeat(27)}.com`;
    expect(longest).toHaveLength(SITE_LIMITS.domain);
    expect(domainReasons(longest)).toEqual([]);
    expect(domainReasons(`a${longest}`)).toEqual([{ field: 'payload.domain', message: 'must be 3 to 92 characters' }]);
    expect(domainReasons('localhost')).toEqual([{ field: 'payload.domain', message: 'must be a valid host name such as blog.example.com' }]);
    expect(domainReasons('xn--bcher-kva.example')).toEqual([]);
  });

  it('keeps an email address as sent, refusing surrounding spaces with a suggestion and anything over 100 characters', () => {
    expect(checkPayload(createSitePayload, { ...valid, adminEmail: 'Owner@Example.com' }, 'payload')).toEqual({
      success: true,
      data: { ...valid, adminEmail: 'Owner@Example.com' },
    });
    expect(payloadReasons({ ...valid, adminEmail: ' owner@example.com' })).toEqual([
      { field: 'payload.adminEmail', message: 'must be an email address without spaces (did you mean "owner@example.com"?)' },
    ]);
    const longest = `${'o'.repeat(88)}@example.com`;
    expect(longest).toHaveLength(SITE_LIMITS.adminEmail);
    expect(payloadReasons({ ...valid, adminEmail: longest })).toEqual([]);
    expect(payloadReasons({ ...valid, adminEmail: `o${longest}` })).toEqual([{ field: 'payload.adminEmail', message: 'must be at most 100 characters' }]);
  });

  it('applies the same rules to the participant commands that carry a name', () => {
    const payload = {
      siteId: randomUUID(),
      name: 'My-Blog',
      domain: 'blog.example.com',
      adminEmail: 'a@example.com',
      databaseName: 'site_x',
      credentials: 'v1.a.b.c',
    };
    expect(() => BootstrapSite.create(payload, causation)).toThrow(/did you mean "my-blog"/);
    expect(() => CreateSite.create({ ...valid, tagline: 'tab\there' }, causation)).toThrow(/control characters/);
    expect(() => CreateSite.create(valid, causation, { id: 'key\u0000' })).toThrow(/id must not contain control characters/);
  });
});

describe('text we write ourselves', () => {
  it('escapes control characters in failure reasons and rejection reasons instead of refusing to report them', () => {
    const causation = { sagaId: randomUUID(), correlationId: randomUUID(), causationId: null };
    const failed = ProvisionStorage.failed.create({ siteId: randomUUID(), reason: 'line one\nline two\u0000', class: 'transient' }, causation);
    expect(failed.payload.reason).toBe('line one\\u000aline two\\u0000');
    const rejected = SiteCreationRejected.create({ reasons: [{ field: 'a\u0000', message: 'b\u001b' }] }, causation);
    expect(rejected.payload.reasons).toEqual([{ field: 'a\\u0000', message: 'b\\u001b' }]);
    expect(printable('\ud800ok\udc00')).toBe('\\ud800ok\\udc00');
    // And what we build, we read back.
    expect(validateMessage(parseEnvelope(JSON.stringify(failed)), 'storage.events').payload).toEqual(failed.payload);
    expect(() => ProvisionStorage.create({ siteId: randomUUID() }, causation)).not.toThrow();
  });
});
