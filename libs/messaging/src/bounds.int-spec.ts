import { randomUUID } from 'node:crypto';
import { type Envelope, ProvisionStorage, SITE_CATALOGUE, Topics } from '@sitesaga/contracts';
import type { Kafka, KafkaMessage, Producer } from 'kafkajs';
import pino from 'pino';
import { DataSource } from 'typeorm';
import { freshDatabase } from '../../../test/support/fresh-database';
import { headerOf, recordTopics, testKafka } from '../../../test/support/kafka-probe';
import { createTopicNamespace, type TopicNamespace } from '../../../test/support/topic-namespace';
import { waitFor } from '../../../test/support/wait-for';
import { messagingConfigFromEnv } from './config/messaging-config';
import { parkedDeadLetters } from './dead-letter/dead-letter-store';
import { createKafka, createOutboxProducer } from './kafka/kafka-client';
import { KafkaEnvelopeServer } from './kafka/kafka-envelope.server';
import { MAX_RECORD_BYTES, recordBytes } from './kafka/record-limits';
import { MessagingMetrics } from './observability/messaging-metrics';
import { OutboxRelay, parkedOutboxMessages } from './outbox/outbox-relay';
import { MESSAGING_MIGRATIONS } from './persistence/messaging-migrations';
import { TransientFailure } from './retry/failure-classification';
import { HealthController } from '@sitesaga/service';
import { Registry } from 'prom-client';

/**
 * Nothing a message causes may stop the line, against a real broker and Postgres, in a
 * private topic namespace (3 partitions): a dead letter bigger than the broker takes, a
 * DLQ that refuses a record, an outbox row the broker refuses, a consumer kafkajs crashed
 * for good. After each, a valid command on every partition is handled.
 */
jest.setTimeout(180_000);
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const PARTITIONS = 3;

let namespace: TopicNamespace;
let database: Awaited<ReturnType<typeof freshDatabase>>;
let dataSource: DataSource;
let admin: Kafka;
let config: ReturnType<typeof messagingConfigFromEnv> & { handlerAttempts: number };
let kafka: Kafka;
let server: KafkaEnvelopeServer;
let metrics: MessagingMetrics;
let raw: Producer;
let probe: Awaited<ReturnType<typeof recordTopics>>;
/** Per saga id, how many more times the handler throws, and what. */
const faults = new Map<string, { failTimes: number; error: () => Error; before?: () => Promise<void> }>();

const wire = (topic: string): string => namespace.topic(topic);
const command = (sagaId: string = randomUUID()): Envelope =>
  ProvisionStorage.create({ siteId: sagaId }, { sagaId, correlationId: `corr-${sagaId}`, causationId: null });
const handled = async (sagaId: string): Promise<number> =>
  Number((await dataSource.query(`SELECT count(*) AS n FROM effects WHERE saga_id = $1`, [sagaId]))[0].n);

/** Sends a valid command to each partition of storage.commands and waits until each is handled. */
async function everyPartitionFlows(what: string): Promise<void> {
  const sent = Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, envelope: command() }));
  await raw.send({
    topic: wire(Topics.storageCommands),
    messages: sent.map(({ partition, envelope }) => ({ partition, key: envelope.sagaId, value: JSON.stringify(envelope) })),
  });
  for (const { partition, envelope } of sent) {
    await waitFor(async () => (await handled(envelope.sagaId)) === 1, { within: '90s', what: `a valid command on partition ${partition} handled ${what}` });
  }
}

/** A ProvisionStorage whose payload carries `count` unknown keys: invalid, one reason per key. */
const withUnknownKeys = (count: number): { envelope: Envelope; value: string } => {
  const envelope = command();
  const payload: Record<string, unknown> = { siteId: envelope.sagaId };
  for (let index = 0; index < count; index++) payload[`k${index}`] = 1;
  return { envelope, value: JSON.stringify({ ...envelope, payload }) };
};

const dlqEntries = (marker: string): (KafkaMessage & { topic: string })[] =>
  probe.messages.filter((message) => message.topic === wire(`${Topics.storageCommands}.dlq`) && headerOf(message, 'marker') === marker);

async function setTopicMaxBytes(topic: string, bytes: number | null): Promise<void> {
  const client = admin.admin();
  await client.connect();
  try {
    await client.alterConfigs({
      validateOnly: false,
      resources: [{ type: 2 /* TOPIC */, name: topic, configEntries: [{ name: 'max.message.bytes', value: bytes === null ? '1048588' : String(bytes) }] }],
    });
  } finally {
    await client.disconnect();
  }
}

async function startServer(
  options: { restartBackoff?: { initialMs: number; factor: number; maxMs: number; jitter: number } } = {},
): Promise<KafkaEnvelopeServer> {
  const started = new KafkaEnvelopeServer({
    kafka,
    config,
    catalogue: SITE_CATALOGUE,
    topics: [Topics.storageCommands],
    logger,
    metrics,
    dataSource,
    ...options,
  });
  started.addHandler(
    ProvisionStorage.type,
    async (envelope: Envelope) => {
      const fault = faults.get(envelope.sagaId);
      if (fault && fault.failTimes > 0) {
        fault.failTimes -= 1;
        await fault.before?.();
        throw fault.error();
      }
      await dataSource.query(`INSERT INTO effects (saga_id) VALUES ($1)`, [envelope.sagaId]);
    },
    true,
  );
  await new Promise<void>((resolve, reject) => started.listen((error?: unknown) => (error ? reject(error) : resolve())));
  return started;
}

beforeAll(async () => {
  admin = testKafka('bounds-admin');
  namespace = await createTopicNamespace(admin, 'bounds', PARTITIONS);
  database = await freshDatabase('bounds_it');
  dataSource = new DataSource({ type: 'postgres', url: database.url, migrations: MESSAGING_MIGRATIONS, logging: false });
  await dataSource.initialize();
  await dataSource.runMigrations();
  await dataSource.query(`CREATE TABLE effects (id serial PRIMARY KEY, saga_id uuid NOT NULL)`);
  config = {
    ...messagingConfigFromEnv(`bounds-it-${randomUUID().slice(0, 8)}`, { ...process.env, KAFKA_TOPIC_PREFIX: namespace.prefix }),
    handlerAttempts: 2,
    handlerBackoff: { initialMs: 20, factor: 2, maxMs: 50, jitter: 0 },
  };
  kafka = createKafka(config, logger);
  metrics = new MessagingMetrics(new Registry());
  raw = admin.producer({ allowAutoTopicCreation: false });
  await raw.connect();
  probe = await recordTopics(admin, [wire(`${Topics.storageCommands}.dlq`), wire(Topics.storageEvents), wire(Topics.sitesEvents)]);
  server = await startServer();
}, 180_000);

afterAll(async () => {
  await server?.close();
  await probe?.stop();
  await raw?.disconnect();
  await dataSource?.destroy();
  await database?.drop();
  await namespace?.drop();
});

describe('dead letters are bounded and never stop a partition', () => {
  it('sends a bounded copy of a ~650 KB invalid message with 60,000 unknown keys to the DLQ, keeps the whole of it in dead_letters, and keeps consuming', async () => {
    const { envelope, value } = withUnknownKeys(60_000);
    expect(Buffer.byteLength(value)).toBeGreaterThan(600_000);
    await raw.send({ topic: wire(Topics.storageCommands), messages: [{ partition: 0, key: envelope.sagaId, value, headers: { marker: envelope.id } }] });

    const [letter] = await waitFor(() => dlqEntries(envelope.id).length > 0 && dlqEntries(envelope.id), {
      within: '60s',
      what: 'the DLQ record of the huge message',
    });
    expect(recordBytes({ key: letter!.key, value: letter!.value, headers: letter!.headers as never })).toBeLessThanOrEqual(MAX_RECORD_BYTES);
    const reasons = JSON.parse(headerOf(letter!, 'dlq-reasons')!) as { field: string; message: string }[];
    // The contract refuses 60,000 values with a bounded list (libs/contracts); the DLQ
    // layer bounds whatever it is given again (dead-letter.spec.ts covers 60,000 reasons).
    expect(reasons.length).toBeGreaterThanOrEqual(1);
    expect(reasons.length).toBeLessThanOrEqual(21);
    expect(headerOf(letter!, 'dlq-reason-count')).toBe(String(reasons.length));
    expect(Buffer.byteLength(headerOf(letter!, 'dlq-error')!)).toBeLessThanOrEqual(8 * 1024);

    const detailId = headerOf(letter!, 'dlq-detail-id');
    expect(detailId).toMatch(/^\d+$/);
    const [row] = (await dataSource.query(
      `SELECT topic, "partition", octet_length(value) AS bytes, jsonb_array_length(reasons) AS reasons, published_at IS NOT NULL AS published, outcome FROM dead_letters WHERE id = $1`,
      [detailId],
    )) as { topic: string; partition: number; bytes: number; reasons: number; published: boolean; outcome: string }[];
    expect(row).toEqual({
      topic: Topics.storageCommands,
      partition: 0,
      bytes: Buffer.byteLength(value),
      reasons: reasons.length,
      published: true,
      outcome: 'unreadable',
    });

    await everyPartitionFlows('after the huge dead letter');
    expect(server.health().state).toBe('running');
  });

  it('parks a dead letter the DLQ topic refuses in dead_letters, moves the partition on, and publishes the next one with a fresh producer', async () => {
    const dlq = wire(`${Topics.storageCommands}.dlq`);
    await setTopicMaxBytes(dlq, 1_024);
    try {
      const refused = withUnknownKeys(200);
      const behind = command();
      await raw.send({
        topic: wire(Topics.storageCommands),
        messages: [
          { partition: 1, key: refused.envelope.sagaId, value: refused.value, headers: { marker: refused.envelope.id } },
          { partition: 1, key: behind.sagaId, value: JSON.stringify(behind) },
        ],
      });
      // The message behind the refused dead letter on the same partition is handled: the line moved on.
      await waitFor(async () => (await handled(behind.sagaId)) === 1, { within: '90s', what: 'the command behind the refused dead letter' });
      const parked = await waitFor(async () => (await parkedDeadLetters(dataSource)).find((letter) => letter.partition === 1), {
        within: '10s',
        what: 'the parked dead letter',
      });
      expect(parked.parkedReason).toMatch(/MESSAGE_TOO_LARGE/);
      expect(dlqEntries(refused.envelope.id)).toHaveLength(0);
    } finally {
      await setTopicMaxBytes(dlq, null);
    }

    // The DLQ producer that was refused was replaced: the next dead letter gets through.
    const next = withUnknownKeys(3);
    await raw.send({
      topic: wire(Topics.storageCommands),
      messages: [{ partition: 1, key: next.envelope.sagaId, value: next.value, headers: { marker: next.envelope.id } }],
    });
    await waitFor(() => dlqEntries(next.envelope.id).length === 1, { within: '60s', what: 'the next dead letter on the DLQ' });
    expect(await metrics.producersReplaced.get()).toMatchObject({ values: [expect.objectContaining({ labels: { producer: 'dead-letter' } })] });
    await everyPartitionFlows('after the refused dead letter');
  });
});

describe('a consumer kafkajs crashed for good', () => {
  it('is recreated by the transport and goes on from the message that crashed it', async () => {
    const crashing = command();
    // A transient error that kafkajs itself takes as non-retriable: it crashes the consumer
    // and, unlike a retriable crash, kafkajs never restarts it.
    faults.set(crashing.sagaId, {
      failTimes: config.handlerAttempts,
      error: () => Object.assign(new TransientFailure('lost the connection'), { retriable: false }),
    });
    const restartsBefore = server.health().restarts;
    await raw.send({ topic: wire(Topics.storageCommands), messages: [{ partition: 2, key: crashing.sagaId, value: JSON.stringify(crashing) }] });

    await waitFor(async () => (await handled(crashing.sagaId)) === 1, { within: '90s', what: 'the crashing message handled after the restart' });
    expect(server.health().restarts).toBeGreaterThan(restartsBefore);
    expect(await metrics.consumerCrashes.get()).toMatchObject({ values: [expect.objectContaining({ labels: { restart: 'false' } })] });
    await waitFor(() => server.health().state === 'running', { within: '60s', what: 'the consumer running again' });
    await everyPartitionFlows('after the consumer was recreated');
  });

  it('turns /health/live 503 while it cannot be recreated and the broker answers, and 200 once it runs again', async () => {
    // A second consumer in a namespace of its own, whose topic the test deletes while the
    // consumer is down: recreating it fails (the topic is gone) while the broker answers.
    const own = await createTopicNamespace(admin, 'lonely', 1);
    const topic = own.topic(Topics.storageCommands);
    const client = admin.admin();
    await client.connect();
    const lonelyConfig = { ...config, topicPrefix: own.prefix, groupId: `${own.prefix}lonely` };
    const lonely = new KafkaEnvelopeServer({
      kafka,
      config: lonelyConfig,
      catalogue: SITE_CATALOGUE,
      topics: [Topics.storageCommands],
      logger,
      dataSource,
      restartBackoff: { initialMs: 6_000, factor: 1, maxMs: 6_000, jitter: 0 },
    });
    const sagaId = randomUUID();
    lonely.addHandler(
      ProvisionStorage.type,
      async (envelope: Envelope) => {
        if (envelope.sagaId === sagaId) throw Object.assign(new TransientFailure('lost the connection'), { retriable: false });
      },
      true,
    );
    await new Promise<void>((resolve, reject) => lonely.listen((error?: unknown) => (error ? reject(error) : resolve())));
    const relay = new OutboxRelay({
      dataSource,
      producer: createOutboxProducer(kafka),
      connectionString: database.url,
      logger,
      pollMs: 1_000,
      batchSize: 10,
      retentionMs: 3_600_000,
    });
    const health = new HealthController(dataSource, kafka, logger, lonely, relay);
    process.env.HEALTH_CONSUMER_DOWN_LIMIT_MS = '2000';
    try {
      await waitFor(() => lonely.health().state === 'running', { within: '60s', what: 'the lonely consumer running' });
      await expect(health.live()).resolves.toMatchObject({ status: 'ok' });

      await raw.send({ topic, messages: [{ key: sagaId, value: JSON.stringify(command(sagaId)) }] });
      await waitFor(() => lonely.health().state === 'restarting', { within: '60s', what: 'the lonely consumer crashed' });
      await client.deleteTopics({ topics: [topic] });

      const dead = await waitFor(
        async () => {
          try {
            await health.live();
            return false;
          } catch (error) {
            return error as { getStatus(): number; getResponse(): unknown };
          }
        },
        { within: '60s', what: '/health/live 503' },
      );
      expect(dead.getStatus()).toBe(503);
      expect(dead.getResponse()).toMatchObject({ checks: { consumer: { status: 'down' } } });
      await expect(health.health()).rejects.toMatchObject({ status: 503 });

      // The topic is back: the next attempt recreates the consumer, and liveness recovers.
      await client.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, replicationFactor: 1 }] });
      await waitFor(() => lonely.health().state === 'running', { within: '120s', what: 'the lonely consumer running again' });
      await expect(health.live()).resolves.toMatchObject({ status: 'ok' });
    } finally {
      delete process.env.HEALTH_CONSUMER_DOWN_LIMIT_MS;
      await lonely.close();
      await client.disconnect();
      await own.drop();
    }
  });
});

describe('an outbox row the broker will not take', () => {
  let relay: OutboxRelay | null = null;
  afterEach(async () => {
    await relay?.stop();
    relay = null;
  });

  const insertRow = async (topic: string, key: string, value: string): Promise<string> =>
    (
      (await dataSource.query(
        `INSERT INTO outbox_messages (message_id, topic, message_key, type, value, headers) VALUES ($1, $2, $3, 'ProvisionStorage', $4, $5::jsonb) RETURNING position::text AS position`,
        [randomUUID(), topic, key, value, JSON.stringify({ marker: key })],
      )) as { position: string }[]
    )[0]!.position;
  const published = (topic: string, key: string): string[] =>
    probe.messages.filter((message) => message.topic === wire(topic) && message.key?.toString() === key).map((message) => message.value!.toString());
  const startRelay = (): OutboxRelay => {
    const started = new OutboxRelay({
      dataSource,
      producer: createOutboxProducer(kafka),
      createProducer: () => createOutboxProducer(kafka),
      connectionString: database.url,
      logger,
      pollMs: 200,
      batchSize: 50,
      retentionMs: 3_600_000,
      metrics,
      topicPrefix: namespace.prefix,
    });
    started.start();
    return started;
  };

  it('parks a row over the record limit without trying it, and publishes the rows after it, in order', async () => {
    const key = randomUUID();
    const other = randomUUID();
    const huge = 'x'.repeat(MAX_RECORD_BYTES + 1);
    await insertRow(Topics.storageEvents, key, 'first');
    const parkedPosition = await insertRow(Topics.storageEvents, key, huge);
    await insertRow(Topics.storageEvents, key, 'third');
    await insertRow(Topics.storageEvents, other, 'other');
    relay = startRelay();

    await waitFor(() => published(Topics.storageEvents, key).length === 2 && published(Topics.storageEvents, other).length === 1, {
      within: '60s',
      what: 'the rows around the huge one published',
    });
    expect(published(Topics.storageEvents, key)).toEqual(['first', 'third']);
    const parked = await parkedOutboxMessages(dataSource);
    expect(parked.find((row) => row.position === parkedPosition)).toMatchObject({
      sagaId: key,
      bytes: huge.length,
      parkedReason: expect.stringMatching(/over the 524288-byte limit/),
    });
    await waitFor(
      async () => Number((await dataSource.query(`SELECT count(*) AS n FROM outbox_messages WHERE sent_at IS NULL AND parked_at IS NULL`))[0].n) === 0,
      {
        within: '20s',
        what: 'every other row marked sent',
      },
    );
  });

  it('finds the row of a batch the broker refuses, parks it with the broker error, replaces the producer, and publishes the rest', async () => {
    // Under the relay's own limit but over the topic's: only the broker can refuse it.
    const topic = wire(Topics.sitesEvents);
    await setTopicMaxBytes(topic, 4_096);
    try {
      const key = randomUUID();
      const rows = [`a-${'.'.repeat(100)}`, 'b'.repeat(20_000), `c-${'.'.repeat(100)}`];
      const before = (await metrics.producersReplaced.get()).values.find((value) => value.labels.producer === 'outbox')?.value ?? 0;
      const positions: string[] = [];
      for (const value of rows) positions.push(await insertRow(Topics.sitesEvents, key, value));
      // A row for another topic in the same batch still goes.
      const elsewhere = randomUUID();
      await insertRow(Topics.storageEvents, elsewhere, 'elsewhere');
      relay = startRelay();

      await waitFor(() => published(Topics.sitesEvents, key).includes(rows[2]!) && published(Topics.storageEvents, elsewhere).length > 0, {
        within: '60s',
        what: 'the rows after the refused one',
      });
      // At least once: a batch refused as a whole may have half-landed, so a row can be there twice.
      expect([...new Set(published(Topics.sitesEvents, key))]).toEqual([rows[0], rows[2]]);
      const parked = await waitFor(async () => (await parkedOutboxMessages(dataSource)).find((row) => row.position === positions[1]), {
        within: '20s',
        what: 'the refused row parked',
      });
      expect(parked.parkedReason).toMatch(/MESSAGE_TOO_LARGE/);
      const after = (await metrics.producersReplaced.get()).values.find((value) => value.labels.producer === 'outbox')?.value ?? 0;
      expect(after).toBeGreaterThan(before);

      // The replacement producer publishes the next rows.
      await insertRow(Topics.sitesEvents, key, 'after');
      await waitFor(() => published(Topics.sitesEvents, key).includes('after'), { within: '30s', what: 'a row published after the replacement' });
    } finally {
      await setTopicMaxBytes(topic, null);
    }
  });

  it('recovers when the database drops every connection of the relay', async () => {
    relay = startRelay();
    await waitFor(() => relay!.leader, { within: '30s', what: 'the relay leading' });
    const key = randomUUID();
    await dataSource.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
    await insertRow(Topics.storageEvents, key, 'after the drop');
    relay.wake();
    await waitFor(() => published(Topics.storageEvents, key).length === 1, { within: '60s', what: 'a row published after the connections were dropped' });
    await waitFor(() => relay!.leader && relay!.health().state === 'leading', { within: '30s', what: 'the relay leading again' });
  });
});
