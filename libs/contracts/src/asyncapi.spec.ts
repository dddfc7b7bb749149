import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { asyncApiDocument } from './asyncapi';
import { dlqTopicOf } from '@sitesaga/message-kit';
import { ALL_MESSAGES } from './site-catalogue';
import { ALL_TOPICS, ALL_TOPICS_WITH_DLQ } from './topics';

const document = asyncApiDocument();
const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));

/** Follows a local `$ref` such as `#/channels/sites.commands/messages/ReserveSite`. */
function resolve(ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`not a local ref: ${ref}`);
  return ref
    .slice(2)
    .split('/')
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], document);
}

/** The schema with every local `$ref` replaced by what it refers to, for ajv. */
function inline(schema: unknown): Record<string, unknown> {
  if (Array.isArray(schema)) return schema.map(inline) as unknown as Record<string, unknown>;
  if (typeof schema !== 'object' || schema === null) return schema as Record<string, unknown>;
  const { $ref } = schema as { $ref?: unknown };
  if (typeof $ref === 'string') return inline(resolve($ref));
  return Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, inline(value)]));
}

const messageOf = (type: string) => {
  const message = document.components.messages[type];
  if (!message) throw new Error(`no message ${type} in the document`);
  return message;
};

describe('AsyncAPI document', () => {
  it('has a channel for every topic and its dead-letter topic, and nothing else', () => {
    const addresses = Object.values(document.channels).map((channel) => channel.address);
    expect([...addresses].sort()).toEqual([...ALL_TOPICS_WITH_DLQ].sort());
    for (const topic of ALL_TOPICS) {
      expect(Object.keys(document.channels[dlqTopicOf(topic)]?.messages ?? {})).toEqual(['DeadLetter']);
    }
  });

  it('has every message type, on the channel of its topic', () => {
    for (const definition of ALL_MESSAGES) {
      const channel = Object.values(document.channels).find((candidate) => candidate.address === definition.topic);
      expect({ type: definition.type, onItsChannel: channel?.messages[definition.type] !== undefined }).toEqual({ type: definition.type, onItsChannel: true });
      expect(messageOf(definition.type).payload).toMatchObject({ properties: { type: { const: definition.type }, version: { const: definition.version } } });
    }
    const documented = Object.keys(document.components.messages).filter((type) => type !== 'DeadLetter');
    expect(documented.sort()).toEqual(ALL_MESSAGES.map((definition) => definition.type).sort());
  });

  it('lists the envelope headers on every message and the DLQ headers on dead letters', () => {
    for (const definition of ALL_MESSAGES) {
      expect(Object.keys(inline(messageOf(definition.type).headers).properties as object)).toEqual(
        expect.arrayContaining(['message-id', 'message-type', 'saga-id', 'correlation-id', 'causation-id']),
      );
    }
    expect(Object.keys(inline(messageOf('DeadLetter').headers).properties as object)).toEqual(
      expect.arrayContaining(['dlq-error', 'dlq-reasons', 'dlq-original-topic', 'dlq-original-partition', 'dlq-original-offset', 'dlq-consumer-group', 'dlq-failed-at']),
    );
  });

  it('resolves every reference of every operation', () => {
    expect(Object.keys(document.operations).length).toBeGreaterThan(0);
    for (const [id, operation] of Object.entries(document.operations)) {
      expect({ id, channel: resolve(operation.channel.$ref) !== undefined }).toEqual({ id, channel: true });
      for (const message of operation.messages) {
        const target = resolve(message.$ref) as { $ref?: string } | undefined;
        expect({ id, message: message.$ref, resolves: target?.$ref !== undefined && resolve(target.$ref) !== undefined }).toEqual({ id, message: message.$ref, resolves: true });
      }
    }
  });

  it('gives every message an example that its envelope, payload and header schemas accept', () => {
    for (const definition of ALL_MESSAGES) {
      const message = messageOf(definition.type);
      const [example] = message.examples;
      expect({ type: definition.type, hasExample: example !== undefined }).toEqual({ type: definition.type, hasExample: true });
      const validEnvelope = ajv.compile(inline(message.payload));
      const validHeaders = ajv.compile(inline(message.headers));
      expect({ type: definition.type, errors: validEnvelope(example!.payload) ? null : validEnvelope.errors }).toEqual({ type: definition.type, errors: null });
      expect({ type: definition.type, errors: validHeaders(example!.headers) ? null : validHeaders.errors }).toEqual({ type: definition.type, errors: null });
    }
  });

  it('agrees with the zod schemas on what a payload must and must not hold', () => {
    for (const definition of ALL_MESSAGES) {
      const schema = document.components.schemas[`${definition.type}Payload`];
      expect(schema).toBeDefined();
      const validate = ajv.compile(schema!);
      const example = (messageOf(definition.type).examples[0]?.payload as { payload: Record<string, unknown> }).payload;
      // Each field left out, and an unknown field added: zod and the JSON Schema decide alike.
      const variants = [
        ...Object.keys(example).map((field) => Object.fromEntries(Object.entries(example).filter(([key]) => key !== field))),
        { ...example, unexpected: 'field' },
        {},
      ];
      for (const variant of variants) {
        const zodAccepts = definition.schema.safeParse(variant).success;
        expect({ type: definition.type, variant, jsonSchemaAccepts: validate(variant) }).toEqual({ type: definition.type, variant, jsonSchemaAccepts: zodAccepts });
      }
    }
  });

  it('is plain, stable JSON', () => {
    expect(JSON.parse(JSON.stringify(document))).toEqual(document);
    expect(JSON.stringify(asyncApiDocument())).toBe(JSON.stringify(document));
  });
});
