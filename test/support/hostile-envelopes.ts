import { Topics } from '@sitesaga/contracts';

/**
 * Generated hostile input for every command topic: what a careless or malicious client
 * can put in a Kafka record. Every message here is invalid by construction (a mutation
 * that the SPEC refuses), so none of them may create anything; each must end in the
 * topic's DLQ or, for a CreateSite whose envelope is readable, a SiteCreationRejected.
 * A seeded PRNG picks positions, values and samples, so a failing run is replayed
 * exactly with HOSTILE_SEED=<seed>.
 */
export interface HostileMessage {
  readonly topic: string;
  readonly key: string | Buffer | null;
  readonly value: string | Buffer | null;
  readonly headers?: Record<string, string | Buffer>;
  /** What is wrong with it, for a failure message. */
  readonly what: string;
  /** Site and saga ids it names: none of them may ever get a directory, database or role. */
  readonly ids: readonly string[];
}

/** mulberry32: small, fast, good enough to pick test cases; the same seed gives the same run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every C0 control character and DEL, and both kinds of lone surrogate. */
export const HOSTILE_CHARACTERS: readonly string[] = [...Array.from({ length: 0x20 }, (_, code) => String.fromCharCode(code)), '\u007f', '\ud800', '\udfff'];

const ENVELOPE_STRING_FIELDS = ['id', 'type', 'sagaId', 'correlationId', 'causationId', 'occurredAt'] as const;
const ENVELOPE_FIELDS = [...ENVELOPE_STRING_FIELDS, 'version', 'payload'] as const;
/** Broker limit ~1 MB: the large records stay under it with room for the DLQ's headers. */
const NEAR_BROKER_LIMIT = 900_000;
/**
 * A value the broker's default limit (message.max.bytes 1048588) just accepts with a
 * 36-byte key: 1,048,479 bytes measured on Kafka 3.9. Dead-lettered as it is, with its
 * error headers, it would no longer fit: the DLQ must not copy it whole.
 */
const AT_BROKER_LIMIT = 1_048_300;

type Payload = Record<string, unknown>;
type Envelope = Record<string, unknown> & { payload: Payload };

/** The commands each command topic accepts, with a valid payload to start mutating from. */
function commandsOf(topic: string, uuid: () => string, label: string): { type: string; payload: () => Payload; optional?: readonly string[] }[] {
  const siteId = () => ({ siteId: uuid() });
  const identity = () => ({ name: `${label}-x`, domain: `${label}-x.example.com`, tagline: 'hostile', adminEmail: 'hostile@example.com' });
  switch (topic) {
    case Topics.siteSagaCommands:
      return [
        { type: 'CreateSite', payload: identity, optional: ['tagline'] },
        { type: 'DeleteSite', payload: siteId },
      ];
    case Topics.sitesCommands:
      return [
        { type: 'ReserveSite', payload: () => ({ ...siteId(), ...identity() }), optional: ['tagline', 'adminEmail'] },
        ...['ActivateSite', 'ReleaseSite', 'MarkSiteDeleting', 'MarkSiteDeleted'].map((type) => ({ type, payload: siteId })),
      ];
    case Topics.storageCommands:
      return ['ProvisionStorage', 'DeprovisionStorage'].map((type) => ({ type, payload: siteId }));
    case Topics.databasesCommands:
      return ['ProvisionDatabase', 'DropDatabase'].map((type) => ({ type, payload: siteId }));
    case Topics.bootstrapCommands:
      return [
        {
          type: 'BootstrapSite',
          payload: () => {
            const id = uuid();
            return { siteId: id, ...identity(), databaseName: `site_${id.replace(/-/g, '')}`, credentials: 'v1.aGVsbG8.aGVsbG8.aGVsbG8' };
          },
          optional: ['tagline'],
        },
      ];
    default:
      throw new Error(`not a command topic: ${topic}`);
  }
}

export const COMMAND_TOPICS: readonly string[] = [
  Topics.siteSagaCommands,
  Topics.sitesCommands,
  Topics.storageCommands,
  Topics.databasesCommands,
  Topics.bootstrapCommands,
];

/**
 * The hostile messages for every command topic. The cross product of every hostile
 * character and every envelope string field is complete; wrong types and payload
 * characters are sampled by the PRNG.
 */
export function hostileMessages(seed: number): HostileMessage[] {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const hex = (length: number) => Array.from({ length }, () => Math.floor(random() * 16).toString(16)).join('');
  // Ids from the PRNG (not randomUUID) so a seed replays the very same messages.
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`;
  const insertAt = (text: string, char: string) => {
    const at = Math.floor(random() * (text.length + 1));
    return `${text.slice(0, at)}${char}${text.slice(at)}`;
  };
  const messages: HostileMessage[] = [];

  for (const topic of COMMAND_TOPICS) {
    const commands = commandsOf(topic, uuid, `hostile-${hex(6)}`);
    const base = (): Envelope => {
      const command = pick(commands);
      const sagaId = uuid();
      return {
        id: uuid(),
        type: command.type,
        version: 1,
        sagaId,
        correlationId: `corr-${hex(8)}`,
        causationId: uuid(),
        occurredAt: new Date(Date.UTC(2026, 0, 1) + Math.floor(random() * 1e10)).toISOString(),
        payload: command.payload(),
      };
    };
    const idsOf = (envelope: Partial<Envelope>): string[] =>
      [envelope.sagaId, (envelope.payload as Payload | undefined)?.siteId].filter((id): id is string => typeof id === 'string');
    const add = (
      what: string,
      envelope: Partial<Envelope>,
      value: string | Buffer = JSON.stringify(envelope),
      key: string | Buffer | null = idsOf(envelope)[0] ?? uuid(),
    ) => messages.push({ topic, key, value, what: `${topic}: ${what}`, ids: idsOf(envelope) });

    // 1. Every hostile character in every string field of the envelope.
    for (const field of ENVELOPE_STRING_FIELDS) {
      for (const char of HOSTILE_CHARACTERS) {
        const envelope = base();
        envelope[field] = insertAt(String(envelope[field]), char);
        add(`U+${char.charCodeAt(0).toString(16).padStart(4, '0')} in ${field}`, envelope);
      }
    }

    // 2. Hostile characters in the payload's strings: NUL in each, plus a sample of the others.
    for (const command of commands) {
      const fields = Object.entries(command.payload()).filter(([, value]) => typeof value === 'string');
      for (const [field] of fields) {
        for (const char of ['\u0000', pick(HOSTILE_CHARACTERS), pick(HOSTILE_CHARACTERS)]) {
          const envelope = { ...base(), type: command.type, payload: command.payload() };
          envelope.payload[field] = insertAt(String(envelope.payload[field]), char);
          add(`U+${char.charCodeAt(0).toString(16).padStart(4, '0')} in payload.${field} of ${command.type}`, envelope);
        }
      }
      // And in a key of the payload, deep inside an unknown field.
      const keyed = {
        ...base(),
        type: command.type,
        payload: { ...command.payload(), extra: { [`k${pick(HOSTILE_CHARACTERS)}y`]: [{ [pick(HOSTILE_CHARACTERS)]: 'v' }] } },
      };
      add(`hostile characters in payload keys of ${command.type}`, keyed);
    }

    // 3. Wrong types at every path (a sample of wrong values per path).
    const wrongValues: unknown[] = [null, true, false, 0, -1, 1.5, 1e308, -0, '', [], {}, [1, 'a'], { $gt: '' }, 'x'.repeat(5000), '١٢٣'];
    for (const field of ENVELOPE_FIELDS) {
      const candidates = wrongValues.filter((value) => {
        if (field === 'causationId' && value === null) return false; // null is a valid causationId
        if ((field === 'id' || field === 'correlationId' || field === 'causationId') && typeof value === 'string' && value.length > 0 && value.length <= 200)
          return false;
        return true;
      });
      for (let sample = 0; sample < 4; sample++) {
        const envelope = base();
        const value = pick(candidates);
        (envelope as Record<string, unknown>)[field] = value;
        add(`${JSON.stringify(value)?.slice(0, 20)} as ${field}`, envelope);
      }
    }
    for (const command of commands) {
      for (const field of Object.keys(command.payload())) {
        for (let sample = 0; sample < 2; sample++) {
          const envelope = { ...base(), type: command.type, payload: command.payload() };
          const value = pick(wrongValues.filter((candidate) => typeof candidate !== 'string' || candidate.length > 300));
          envelope.payload[field] = value;
          add(`${JSON.stringify(value)?.slice(0, 20)} as payload.${field} of ${command.type}`, envelope);
        }
      }
    }

    // 4. Missing fields: each required envelope field, each payload field but the optional tagline.
    for (const field of ['id', 'type', 'version', 'correlationId', 'occurredAt', 'payload'] as const) {
      const envelope = base();
      delete envelope[field];
      add(`no ${field}`, envelope);
    }
    if (topic !== Topics.siteSagaCommands) {
      const envelope = base();
      delete envelope.sagaId;
      add('no sagaId on a participant command', envelope);
    }
    for (const command of commands) {
      for (const field of Object.keys(command.payload()).filter((field) => !command.optional?.includes(field))) {
        const envelope = { ...base(), type: command.type, payload: command.payload() };
        delete envelope.payload[field];
        add(`no payload.${field} in ${command.type}`, envelope);
      }
    }

    // 5. Unknown keys and prototype pollution (an unknown envelope key alone is ignored by
    //    design, so each case also carries one in the payload, where keys are strict).
    const polluted = base();
    add(
      '__proto__ and constructor keys',
      polluted,
      JSON.stringify({ ...polluted, payload: { ...polluted.payload, admin: true } })
        .replace('{', '{"__proto__":{"admin":true},"constructor":{"prototype":{"admin":true}},')
        .replace('"payload":{', '"payload":{"__proto__":{"isAdmin":true},'),
    );
    const unknown = base();
    add('unknown keys in the payload', { ...unknown, role: 'admin', payload: { ...unknown.payload, role: 'admin', debug: true } });

    // 6. Not JSON, not UTF-8, not an object, nothing at all.
    const valid = JSON.stringify(base());
    add('truncated JSON', {}, valid.slice(0, Math.floor(random() * valid.length)));
    add('random bytes', {}, Buffer.from(Array.from({ length: 1 + Math.floor(random() * 2000) }, () => Math.floor(random() * 256))));
    for (const scalar of ['null', '42', '"CreateSite"', 'true', '[]', '[{}]', '', ' ']) add(`JSON ${scalar || '(empty)'}`, {}, scalar);
    messages.push({ topic, key: uuid(), value: null, what: `${topic}: a tombstone (null value)`, ids: [] });
    for (const bytes of [[0xff], [0xc3, 0x28], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]]) {
      const envelope = base();
      const [before, after] = JSON.stringify(envelope).split(String(envelope.correlationId));
      add(
        `bytes ${bytes.map((byte) => byte.toString(16)).join(' ')} (not UTF-8) in correlationId`,
        envelope,
        Buffer.concat([Buffer.from(`${before}${envelope.correlationId}`), Buffer.from(bytes), Buffer.from(after!)]),
      );
    }
    const raw = base();
    add('a raw NUL byte inside a JSON string', raw, JSON.stringify(raw).replace(String(raw.correlationId), `${raw.correlationId}\u0000`));
    const duplicate = base();
    add('a duplicate id key, the last one with NUL', duplicate, JSON.stringify(duplicate).replace(/}$/, `,"id":"dup\\u0000licate"}`));

    // 7. Numbers: huge, negative zero, beyond float.
    for (const version of ['1e400', '-1e400', '123456789012345678901234567890', '2', '0', '-0', '1.0000000000000002']) {
      const envelope = base();
      add(`version ${version}`, envelope, JSON.stringify({ ...envelope, version: 'VERSION' }).replace('"VERSION"', version));
    }

    // 8. Types that do not belong here, unknown types and versions.
    const misrouted = base();
    add('a command of another topic', {
      ...misrouted,
      type: topic === Topics.storageCommands ? 'ProvisionDatabase' : 'ProvisionStorage',
      payload: { siteId: uuid() },
    });
    add('an event on a command topic', { ...base(), type: 'StorageProvisioned', payload: { siteId: uuid(), path: '/etc' } });
    add('an unknown type', { ...base(), type: 'ProvisionRocket' });

    // 9. Sizes up to near the broker's limit, deep nesting, many keys. The deep one on every
    //    topic; of the five near-limit ones, two per topic in turn (each lands on two topics),
    //    and on site-saga.commands always the 60,000 keys that once killed its consumer.
    const deep = base();
    add('payload nested 100,000 deep', deep, JSON.stringify(deep).replace(/}$/, `,"payload":{"a":${'['.repeat(100_000)}1${']'.repeat(100_000)}}}`));
    const large: (() => void)[] = [
      () => {
        const wide = base();
        const keys = Array.from({ length: 60_000 }, (_, index) => `"k${index}":${index}`).join(',');
        add('payload with 60,000 unknown keys', wide, JSON.stringify(wide).replace('"payload":{', `"payload":{${keys},`));
      },
      () => {
        const big = base();
        const field = Object.keys(big.payload)[0]!;
        add(`a 900 KB payload.${field}`, big, JSON.stringify({ ...big, payload: { ...big.payload, [field]: 'x'.repeat(NEAR_BROKER_LIMIT) } }));
      },
      () => {
        const bigId = base();
        add('a 900 KB id', bigId, JSON.stringify({ ...bigId, id: 'i'.repeat(NEAR_BROKER_LIMIT) }));
      },
      () => {
        const bigArray = base();
        add(
          'an array of 400,000 numbers',
          bigArray,
          JSON.stringify(bigArray).replace(/}$/, `,"payload":{"list":[${Array.from({ length: 400_000 }, () => 0).join(',')}]}}`),
        );
      },
      () => add('a 900 KB run of spaces', {}, ' '.repeat(NEAR_BROKER_LIMIT)),
    ];
    const turn = COMMAND_TOPICS.indexOf(topic);
    const chosen = new Set([turn % large.length, (turn + 2) % large.length, ...(topic === Topics.siteSagaCommands ? [0] : [])]);
    for (const index of chosen) large[index]!();
    messages.push({
      topic,
      key: uuid(),
      value: `{"id":"${'x'.repeat(AT_BROKER_LIMIT - 8)}`,
      what: `${topic}: an unreadable record right at the broker's limit`,
      ids: [],
    });

    // 10. Odd keys and headers (copied into the DLQ record as they are).
    const headed = base();
    messages.push({
      topic,
      key: Buffer.from([0xff, 0x00, 0xfe]),
      value: JSON.stringify({ ...headed, id: `${headed.id}\u0000` }),
      headers: { 'x-evil': Buffer.from([0x00, 0xff, 0x0a]), 'dlq-error': 'forged', 'content-type': 'application/json\r\nX-Injected: 1' },
      what: `${topic}: binary key, forged DLQ header, CRLF in a header, NUL id`,
      ids: idsOf(headed),
    });
    const keyed10k = { ...base(), type: '' };
    add('a 10 KB key and an empty type', keyed10k, JSON.stringify(keyed10k), 'k'.repeat(10_000));
  }
  return messages;
}
