/**
 * The ground every other e2e test stands on: the broker and the database that the jest
 * global setup provides (test/support/global-setup.ts) really work.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { Client } from 'pg';
import { ALL_TOPICS_WITH_DLQ, Topics } from '@sitesaga/contracts';
import { waitFor } from '../support/wait-for';

jest.setTimeout(60_000);

const brokers = (): string[] => (process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);

describe('test infrastructure', () => {
  it('has every topic of topics.ts on the broker, dead-letter topics included', async () => {
    const admin = new Kafka({ clientId: 'infra-e2e', brokers: brokers(), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const topics = new Set(await admin.listTopics());
      expect(ALL_TOPICS_WITH_DLQ.filter((topic) => !topics.has(topic))).toEqual([]);
    } finally {
      await admin.disconnect();
    }
  });

  it('delivers a message keyed by saga id from a producer to a consumer', async () => {
    const kafka = new Kafka({ clientId: 'infra-e2e', brokers: brokers(), logLevel: logLevel.NOTHING });
    const sagaId = randomUUID();
    const envelope = {
      id: randomUUID(),
      type: 'InfraProbe',
      version: 1,
      sagaId,
      correlationId: sagaId,
      causationId: sagaId,
      occurredAt: new Date().toISOString(),
      payload: {},
    };
    const received: Array<{ key: string | undefined; value: string | undefined }> = [];
    const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
    // A group of its own, reading from the start: the message cannot slip past before
    // the consumer has its partitions.
    const consumer: Consumer = kafka.consumer({ groupId: `infra-e2e-${randomUUID()}` });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: Topics.siteSagaEvents, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          received.push({ key: message.key?.toString(), value: message.value?.toString() });
        },
      });
      await producer.connect();
      await producer.send({ topic: Topics.siteSagaEvents, messages: [{ key: sagaId, value: JSON.stringify(envelope) }] });

      const message = await waitFor(() => received.find((candidate) => candidate.key === sagaId), { within: '30s', what: `the probe message of saga ${sagaId}` });
      expect(JSON.parse(message.value ?? '{}')).toEqual(envelope);
    } finally {
      await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
    }
  });

  it('answers queries on DATABASE_URL', async () => {
    const client = new Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
    try {
      const result = await client.query<{ one: number }>('select 1 as one');
      expect(result.rows).toEqual([{ one: 1 }]);
    } finally {
      await client.end();
    }
  });

  it('creates the same topics in docker-compose.yml as topics.ts names', () => {
    const compose = fs.readFileSync(path.join(__dirname, '..', '..', 'docker-compose.yml'), 'utf8');
    const missing = ALL_TOPICS_WITH_DLQ.filter((topic) => !new RegExp(`(^|\\s)${topic.replace(/\./g, '\\.')}(\\s|$)`, 'm').test(compose));
    expect(missing).toEqual([]);
  });
});
