import { randomUUID } from 'node:crypto';
import { type Envelope, ProvisionStorage, SITE_CATALOGUE, Topics } from '@sitesaga/contracts';
import type { Kafka, Producer } from 'kafkajs';
import pino from 'pino';
import { DataSource } from 'typeorm';
import { freshDatabase } from '../../../../test/support/fresh-database';
import { testKafka } from '../../../../test/support/kafka-probe';
import { createTopicNamespace, type TopicNamespace } from '../../../../test/support/topic-namespace';
import { waitFor } from '../../../../test/support/wait-for';
import { messagingConfigFromEnv } from '../config/messaging-config';
import { createKafka, createOutboxProducer } from '../kafka/kafka-client';
import { KafkaEnvelopeServer } from '../kafka/kafka-envelope.server';
import { OutboxRelay } from '../outbox/outbox-relay';
import type { CommittedOutboxRecord } from '../outbox/outbox-writer';
import { UnitOfWork } from '../outbox/unit-of-work';
import { MESSAGING_MIGRATIONS } from '../persistence/messaging-migrations';
import { TransientFailure } from './failure-classification';

/**
 * One retry layer: a participant command whose work keeps failing transiently is tried
 * HANDLER_ATTEMPTS times in all — by the transport — and then answered with its failure
 * event, class `transient`; never the transport's attempts times the unit of work's. The
 * same holds when the command first came in a batch unit of work that its failure rolled
 * back: that try is its first attempt. Real Kafka (a private topic namespace), real Postgres.
 */
jest.setTimeout(120_000);
const logger = pino({ level: 'silent' });
const HANDLER_ATTEMPTS = 3;

let namespace: TopicNamespace;
let database: Awaited<ReturnType<typeof freshDatabase>>;
let dataSource: DataSource;
let kafka: Kafka;
let producer: Producer;
let relay: OutboxRelay;
let unitOfWork: UnitOfWork;
const servers: KafkaEnvelopeServer[] = [];
/** Runs of each command's work, by message id; the ids in `failing` always fail transiently. */
const runs = new Map<string, number>();
const failing = new Set<string>();

const command = (sagaId: string = randomUUID()): Envelope => ProvisionStorage.create({ siteId: sagaId }, { sagaId, correlationId: sagaId, causationId: null });

const outboxOf = async (sagaId: string): Promise<{ type: string; class: string | null }[]> =>
  dataSource.query(
    `SELECT value::jsonb->>'type' AS type, value::jsonb->'payload'->>'class' AS class FROM outbox_messages
      WHERE message_key = $1 AND value::jsonb->>'type' <> $2 ORDER BY position`,
    [sagaId, ProvisionStorage.type],
  );

async function startServer(batchSize: number): Promise<void> {
  const config = {
    ...messagingConfigFromEnv(`retry-it-${randomUUID().slice(0, 8)}`, { ...process.env, KAFKA_TOPIC_PREFIX: namespace.prefix }),
    handlerAttempts: HANDLER_ATTEMPTS,
    handlerBackoff: { initialMs: 20, factor: 2, maxMs: 100, jitter: 0 },
    batchSize,
  };
  const server = new KafkaEnvelopeServer({ kafka, config, catalogue: SITE_CATALOGUE, topics: [Topics.storageCommands], logger, dataSource, batcher: unitOfWork });
  // A participant handler as the services write them: everything in handleCommand.
  server.addHandler(
    ProvisionStorage.type,
    async (envelope: Envelope) => {
      await unitOfWork.handleCommand(envelope, async (tx) => {
        runs.set(envelope.id, (runs.get(envelope.id) ?? 0) + 1);
        if (failing.has(envelope.id)) throw new TransientFailure('the disk is busy');
        tx.reply(ProvisionStorage.succeeded, { siteId: envelope.sagaId, path: `/srv/${envelope.sagaId}` });
      });
    },
    true,
  );
  await new Promise<void>((resolve, reject) => server.listen((error?: unknown) => (error ? reject(error) : resolve())));
  servers.push(server);
}

beforeAll(async () => {
  namespace = await createTopicNamespace(testKafka('retry-admin'), 'retry', 1);
  database = await freshDatabase('retry_it');
  dataSource = new DataSource({ type: 'postgres', url: database.url, migrations: MESSAGING_MIGRATIONS, logging: false });
  await dataSource.initialize();
  await dataSource.runMigrations();
  const config = messagingConfigFromEnv('retry-it', { ...process.env, KAFKA_TOPIC_PREFIX: namespace.prefix });
  kafka = createKafka(config, logger);
  producer = createOutboxProducer(kafka);
  await producer.connect();
  relay = new OutboxRelay({ dataSource, producer, connectionString: database.url, logger, pollMs: 1000, batchSize: 500, retentionMs: 3_600_000, topicPrefix: namespace.prefix });
  const outbox = { handOff: (records: readonly CommittedOutboxRecord[]) => relay.handOff(records), takeMarks: () => relay.takeMarks(), returnMarks: (marks: readonly string[]) => relay.returnMarks(marks) };
  unitOfWork = new UnitOfWork(dataSource, { consumer: 'retry-it', catalogue: SITE_CATALOGUE, logger, outbox, backoff: { initialMs: 20, factor: 2, maxMs: 100, jitter: 0 } });
  relay.start();
}, 120_000);

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

afterAll(async () => {
  await relay?.stop();
  await producer?.disconnect();
  await dataSource?.destroy();
  await database?.drop();
  await namespace?.drop();
});

describe('a participant command that keeps failing transiently', () => {
  it(`is tried HANDLER_ATTEMPTS (${HANDLER_ATTEMPTS}) times in all, then answered with a transient failure`, async () => {
    await startServer(1);
    const sent = command();
    failing.add(sent.id);
    await unitOfWork.run(null, async (tx) => tx.publish(sent));

    await waitFor(async () => (await outboxOf(sent.sagaId)).length > 0, { within: '60s', what: 'the answer to the failing command' });
    expect(await outboxOf(sent.sagaId)).toEqual([{ type: ProvisionStorage.failed.type, class: 'transient' }]);
    expect(runs.get(sent.id)).toBe(HANDLER_ATTEMPTS);
  });

  it('counts its try in a batch unit of work that its failure rolled back as its first attempt', async () => {
    // Both on the topic before a consumer (a new group, from the beginning) joins: one
    // fetched batch. The first succeeds (its batch try is rolled back by the second's
    // failure, then it is handled alone).
    const sagaId = randomUUID();
    const fine = command(sagaId);
    const sick = command(sagaId);
    failing.add(sick.id);
    const topic = namespace.topic(Topics.storageCommands);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const before = Number((await admin.fetchTopicOffsets(topic))[0]!.high);
      await unitOfWork.run(null, async (tx) => {
        tx.publish(fine);
        tx.publish(sick);
      });
      await waitFor(async () => Number((await admin.fetchTopicOffsets(topic))[0]!.high) >= before + 2, { within: '30s', what: 'both commands on the topic' });
    } finally {
      await admin.disconnect();
    }
    await startServer(10);

    await waitFor(async () => (await outboxOf(sagaId)).length === 2, { within: '60s', what: 'the answers to both commands' });
    expect(await outboxOf(sagaId)).toEqual([
      { type: ProvisionStorage.succeeded.type, class: null },
      { type: ProvisionStorage.failed.type, class: 'transient' },
    ]);
    // The batch path was taken: the good command ran in the batch, then alone.
    expect(runs.get(fine.id)).toBe(2);
    expect(runs.get(sick.id)).toBe(HANDLER_ATTEMPTS);
  });
});
