import type { Catalogue } from './catalogue';
import type { MessageDefinition } from './define-message';
import { envelopeHeaders, envelopeSchema } from './envelope';
import { jsonSchemaOf, type JsonSchema } from './json-schema';

/**
 * The AsyncAPI 3.0 document of a catalogue: every topic and message, built from the
 * definitions and their zod schemas, so it cannot drift from what the services send and
 * accept. A product says who writes and reads each topic and gives sample payloads.
 */
export interface AsyncApiDocument {
  readonly asyncapi: '3.0.0';
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly defaultContentType: string;
  readonly servers: Record<string, unknown>;
  readonly channels: Record<string, AsyncApiChannel>;
  readonly operations: Record<string, AsyncApiOperation>;
  readonly components: { readonly messages: Record<string, AsyncApiMessage>; readonly schemas: Record<string, JsonSchema> };
}

export interface AsyncApiChannel {
  readonly address: string;
  readonly title: string;
  readonly description: string;
  readonly messages: Record<string, { readonly $ref: string }>;
  readonly bindings: { readonly kafka: { readonly topic: string; readonly bindingVersion: string } };
}

export interface AsyncApiOperation {
  readonly action: 'send' | 'receive';
  readonly channel: { readonly $ref: string };
  readonly messages: readonly { readonly $ref: string }[];
  readonly summary: string;
  readonly tags: readonly { readonly name: string }[];
}

export interface AsyncApiMessage {
  readonly name: string;
  readonly title: string;
  readonly summary: string;
  readonly contentType: string;
  readonly headers: JsonSchema;
  /** The whole envelope; its `payload` property refers to the message's own schema in `components.schemas`. */
  readonly payload: JsonSchema;
  readonly bindings: { readonly kafka: { readonly key: JsonSchema; readonly bindingVersion: string } };
  readonly examples: readonly { readonly name: string; readonly headers: Record<string, string>; readonly payload: unknown }[];
  readonly 'x-kind': 'command' | 'event' | 'dead-letter';
}

const KAFKA_BINDING_VERSION = '0.5.0';
const SAGA_ID_KEY: JsonSchema = { type: 'string', format: 'uuid', description: 'The saga id: one saga’s messages stay in order on one partition.' };

/** What the outbox relay puts on every message (`envelopeHeaders`): route or trace without parsing. */
const ENVELOPE_HEADERS: JsonSchema = {
  type: 'object',
  properties: {
    'message-id': { type: 'string', description: 'The envelope id (the dedupe key).' },
    'message-type': { type: 'string', description: 'The envelope type.' },
    'message-version': { type: 'string', pattern: '^[0-9]+$', description: 'The envelope version.' },
    'saga-id': { type: 'string', format: 'uuid', description: 'The envelope sagaId (also the Kafka key).' },
    'correlation-id': { type: 'string', description: 'The envelope correlationId: the saga’s originating request.' },
    'causation-id': { type: 'string', description: 'The envelope causationId; absent when nothing caused the message.' },
    'content-type': { type: 'string', const: 'application/json' },
    'outbox-at': {
      type: 'string',
      pattern: '^[0-9]{1,15}$',
      description: 'Per-hop timing: epoch ms at which the sender committed the outbox row (the record timestamp is when it was produced). Optional; a malformed value is ignored.',
    },
    'cause-hops': {
      type: 'string',
      pattern: '^[0-9]{1,10},[0-9]{1,10},[0-9]{1,10}$',
      description:
        'Per-hop timing of the message that caused this one, as its receiver measured it: "outbox,broker,handler" in ms (a reply carries its command’s back). Optional; a malformed value is ignored.',
    },
    traceparent: {
      type: 'string',
      pattern: '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$',
      description: 'W3C Trace Context of the span that published the message, when OpenTelemetry is on. Optional; a malformed value starts a new trace.',
    },
  },
  required: ['message-id', 'message-type', 'message-version', 'saga-id', 'correlation-id', 'content-type'],
};

/** What the transport adds when it parks a message on `<topic>.dlq` (libs/messaging `sendToDeadLetter`). */
const DLQ_HEADERS: JsonSchema = {
  type: 'object',
  description: 'The original message’s headers (see the envelope headers; absent when the producer set none) plus these.',
  properties: {
    ...(ENVELOPE_HEADERS.properties as JsonSchema),
    'dlq-error': { type: 'string', maxLength: 4000, description: 'Why the message could not be handled.' },
    'dlq-reasons': { type: 'string', description: 'JSON array of field reasons: [{ "field", "message" }].' },
    'dlq-original-topic': { type: 'string', description: 'The topic the message was read from.' },
    'dlq-original-partition': { type: 'string', pattern: '^[0-9]+$' },
    'dlq-original-offset': { type: 'string', pattern: '^[0-9]+$' },
    'dlq-consumer-group': { type: 'string', description: 'The consumer group that gave up on it.' },
    'dlq-failed-at': { type: 'string', format: 'date-time' },
  },
  required: ['dlq-error', 'dlq-reasons', 'dlq-original-topic', 'dlq-original-partition', 'dlq-original-offset', 'dlq-consumer-group', 'dlq-failed-at'],
};

const DEAD_LETTER = 'DeadLetter';

/** What a product adds to its catalogue for the document. */
export interface AsyncApiSpec {
  readonly title: string;
  /** The topics in the document's order (default: the catalogue's). */
  readonly topics?: readonly string[];
  /** Who writes and who reads a topic; a reader named `subscribers` stands for anyone (it parks no dead letters). */
  readonly partiesOf: (topic: string) => { senders: string[]; receivers: string[] };
  /** A valid sample payload of a message, or null when there is none (the message then has no example). */
  readonly examplePayloadOf: (definition: MessageDefinition) => unknown;
}

/** Where a message that cannot be read goes: `<topic>.dlq`. */
export const dlqTopicOf = (topic: string): string => `${topic}.dlq`;

const channelIdOf = (topic: string): string => topic;
const payloadSchemaId = (definition: MessageDefinition): string => `${definition.type}Payload`;
const ENVELOPE_HEADERS_REF = { $ref: '#/components/schemas/EnvelopeHeaders' };
const DLQ_HEADERS_REF = { $ref: '#/components/schemas/DeadLetterHeaders' };

function envelopeSchemaOf(definition: MessageDefinition): JsonSchema {
  const envelope = jsonSchemaOf(envelopeSchema);
  const properties = envelope.properties as Record<string, JsonSchema>;
  // A client command may leave the saga id to the orchestrator; every other message carries it.
  const sagaIdOptional = definition.startsSaga;
  return {
    ...envelope,
    description: `The envelope of a ${definition.type} v${definition.version} ${definition.kind}; its payload is the message's own schema.`,
    properties: {
      ...properties,
      type: { type: 'string', const: definition.type },
      version: { type: 'integer', const: definition.version },
      payload: { $ref: `#/components/schemas/${payloadSchemaId(definition)}` },
    },
    required: ['id', 'type', 'version', ...(sagaIdOptional ? [] : ['sagaId']), 'correlationId', 'occurredAt', 'payload'],
  };
}

const EXAMPLE_CAUSATION = {
  sagaId: '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
  correlationId: '9b2f7f0e-6c4a-4d38-9f61-2d8e7f1a0c55',
  causationId: '5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
};

function messageOf(definition: MessageDefinition, examplePayloadOf: AsyncApiSpec['examplePayloadOf']): AsyncApiMessage {
  const example = examplePayloadOf(definition);
  // Built by the contract's own builder: an example the code would not send cannot appear.
  const envelope =
    example === null
      ? null
      : definition.create(example, EXAMPLE_CAUSATION, { id: '0b6c7f3e-2a1d-4c5b-9e8f-7a6b5c4d3e2f', occurredAt: new Date('2025-01-01T12:00:00.000Z') });
  return {
    name: definition.type,
    title: definition.type,
    summary: `${definition.kind === 'command' ? 'Command' : 'Event'} on ${definition.topic} (v${definition.version})`,
    contentType: 'application/json',
    headers: ENVELOPE_HEADERS_REF,
    payload: envelopeSchemaOf(definition),
    bindings: { kafka: { key: SAGA_ID_KEY, bindingVersion: KAFKA_BINDING_VERSION } },
    examples: envelope
      ? [
          {
            name: `${definition.type}Example`,
            headers: envelopeHeaders(envelope),
            payload: envelope,
          },
        ]
      : [],
    'x-kind': definition.kind,
  };
}

const deadLetterMessage: AsyncApiMessage = {
  name: DEAD_LETTER,
  title: 'Dead letter',
  summary: 'A message that could not be read, validated or handled, parked with its error; the partition moved on.',
  contentType: 'application/json',
  headers: DLQ_HEADERS_REF,
  payload: { description: 'The original message value, byte for byte: usually an envelope, possibly not JSON at all.' },
  bindings: { kafka: { key: { type: 'string', description: 'The original key (the saga id when there was one).' }, bindingVersion: KAFKA_BINDING_VERSION } },
  examples: [],
  'x-kind': 'dead-letter',
};

export function asyncApiDocumentOf(catalogue: Catalogue, spec: AsyncApiSpec): AsyncApiDocument {
  const { partiesOf } = spec;
  const channels: Record<string, AsyncApiChannel> = {};
  const operations: Record<string, AsyncApiOperation> = {};
  const messages: Record<string, AsyncApiMessage> = { [DEAD_LETTER]: deadLetterMessage };
  const schemas: Record<string, JsonSchema> = { EnvelopeHeaders: ENVELOPE_HEADERS, DeadLetterHeaders: DLQ_HEADERS };

  for (const topic of spec.topics ?? catalogue.topics) {
    const definitions = catalogue.messages.filter((definition) => definition.topic === topic);
    const { senders, receivers } = partiesOf(topic);
    const channelId = channelIdOf(topic);
    channels[channelId] = {
      address: topic,
      title: topic,
      description: `${topic.endsWith('.commands') ? 'Commands' : 'Events'} written by ${senders.join(' and ')}, read by ${receivers.join(' and ')}. Kafka key: the saga id.`,
      messages: Object.fromEntries(definitions.map((definition) => [definition.type, { $ref: `#/components/messages/${definition.type}` }])),
      bindings: { kafka: { topic, bindingVersion: KAFKA_BINDING_VERSION } },
    };
    for (const definition of definitions) {
      messages[definition.type] = messageOf(definition, spec.examplePayloadOf);
      schemas[payloadSchemaId(definition)] = jsonSchemaOf(definition.schema);
    }
    const channelMessages = definitions.map((definition) => ({ $ref: `#/channels/${channelId}/messages/${definition.type}` }));
    for (const [action, parties] of [
      ['send', senders],
      ['receive', receivers],
    ] as const) {
      for (const party of parties) {
        operations[`${party}.${action}.${topic}`] = {
          action,
          channel: { $ref: `#/channels/${channelId}` },
          messages: channelMessages,
          summary: `${party} ${action === 'send' ? 'sends to' : 'consumes'} ${topic}`,
          tags: [{ name: party }],
        };
      }
    }

    const dlq = dlqTopicOf(topic);
    channels[channelIdOf(dlq)] = {
      address: dlq,
      title: dlq,
      description: `Messages of ${topic} that its consumers (${receivers.join(', ')}) could not read, validate or handle, with the error in the headers. Never dropped; never blocks ${topic}.`,
      messages: { [DEAD_LETTER]: { $ref: `#/components/messages/${DEAD_LETTER}` } },
      bindings: { kafka: { topic: dlq, bindingVersion: KAFKA_BINDING_VERSION } },
    };
    for (const party of receivers.filter((receiver) => receiver !== 'subscribers')) {
      operations[`${party}.send.${dlq}`] = {
        action: 'send',
        channel: { $ref: `#/channels/${channelIdOf(dlq)}` },
        messages: [{ $ref: `#/channels/${channelIdOf(dlq)}/messages/${DEAD_LETTER}` }],
        summary: `${party} parks unreadable messages of ${topic}`,
        tags: [{ name: party }],
      };
    }
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: spec.title,
      version: '1.0.0',
      description: [
        'Every message value is a JSON envelope `{ id, type, version, sagaId, correlationId, causationId, occurredAt, payload }`;',
        'the Kafka key is the saga id. Consumers dedupe by envelope id (at-least-once delivery, effectively-once effects).',
        'A message that cannot be parsed or validated goes to `<topic>.dlq` with its error in the headers.',
        'Topic names may carry a deployment prefix (KAFKA_TOPIC_PREFIX) on the wire.',
      ].join(' '),
    },
    defaultContentType: 'application/json',
    servers: {
      kafka: { host: '127.0.0.1:9092', protocol: 'kafka', description: 'The brokers named by KAFKA_BROKERS (the local default shown).' },
    },
    channels,
    operations,
    components: { messages, schemas },
  };
}
