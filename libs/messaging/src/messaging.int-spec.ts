import { randomUUID } from 'node:crypto';
import { type Envelope, ProvisionStorage, SITE_CATALOGUE, Topics } from '@sitesaga/contracts';
import type { Kafka, Producer } from 'kafkajs';
import pino from 'pino';
import { DataSource } from 'typeorm';
import { freshDatabase } from '../../../test/support/fresh-database';
import { headerOf, recordTopics, testKafka } from '../../../test/support/kafka-probe';
import { waitFor } from '../../../test/support/wait-for';
import { messagingConfigFromEnv } from './config/messaging-config';
import { createKafka, createOutboxProducer } from './kafka/kafka-client';
import { KafkaEnvelopeServer } from './kafka/kafka-envelope.server';
import { OutboxRelay } from './outbox/outbox-relay';
import type { CommittedOutboxRecord } from './outbox/outbox-writer';
import { UnitOfWork } from './outbox/unit-of-work';
import { MESSAGING_MIGRATIONS } from './persistence/messaging-migrations';

/**
 * The messaging backbone against a real broker and a real Postgres: outbox → Kafka →
 * inbox, duplicates, a relay that dies between publish and mark, the DLQ, retries.
 * The consumer is a real KafkaEnvelopeServer (the Nest transport) in its own group.
 */
jest.setTimeout(60_000);
const logger = pino({ level: 'silent' });
const config = { ...messagingConfigFromEnv(`messaging-it-${randomUUID().slice(0, 8)}`), handlerAttempts: 3, handlerBackoff: { initialMs: 20, factor: 2, maxMs: 100, jitter: 0 } };

let database: Awaited<ReturnType<typeof freshDatabase>>;
let dataSource: DataSource;
let kafka: Kafka;
let producer: Producer;
let relay: OutboxRelay;
let unitOfWork: UnitOfWork;
let server: KafkaEnvelopeServer;
let probe: Awaited<ReturnType<typeof recordTopics>>;
/** Saga ids this file created: the topics are shared with other tests. */
const mine = new Set<string>();
/** Per saga id, how a handler should misbehave. */
const faults = new Map<string, { failTimes: number; error: () => Error }>();

const command = (sagaId: string = randomUUID()): Envelope => {
  mine.add(sagaId);
  return ProvisionStorage.create({ siteId: sagaId }, { sagaId, correlationId: `corr-${sagaId}`, causationId: null });
};

const effectsOf = async (sagaId: string): Promise<number> =>
  Number((await dataSource.query(`SELECT count(*) AS n FROM effects WHERE saga_id = $1`, [sagaId]))[0].n);

beforeAll(async () => {
  database = await freshDatabase('messaging_it');
  dataSource = new DataSource({ type: 'postgres', url: database.url, migrations: MESSAGING_MIGRATIONS, logging: false });
  await dataSource.initialize();
  await dataSource.runMigrations();
  await dataSource.query(`CREATE TABLE effects (id serial PRIMARY KEY, saga_id uuid NOT NULL, message_id text NOT NULL)`);

  kafka = createKafka(config, logger);
  producer = createOutboxProducer(kafka);
  await producer.connect();
  relay = new OutboxRelay({ dataSource, producer, connectionString: database.url, logger, pollMs: 1000, batchSize: 500, retentionMs: 3_600_000 });
  // Committed rows are handed to whichever relay runs now (a test replaces it), as in a service.
  const outbox = { handOff: (records: readonly CommittedOutboxRecord[]) => relay.handOff(records), takeMarks: () => relay.takeMarks(), returnMarks: (marks: readonly string[]) => relay.returnMarks(marks) };
  unitOfWork = new UnitOfWork(dataSource, { consumer: config.service, catalogue: SITE_CATALOGUE, logger, outbox, backoff: config.handlerBackoff });
  relay.start();

  server = new KafkaEnvelopeServer({ kafka, config, catalogue: SITE_CATALOGUE, topics: [Topics.storageCommands], logger, dataSource });
  // The participant side: record the effect and reply, in one unit of work.
  server.addHandler(
    ProvisionStorage.type,
    async (envelope: Envelope) => {
      if (!mine.has(envelope.sagaId)) return;
      const fault = faults.get(envelope.sagaId);
      if (fault && fault.failTimes > 0) {
        fault.failTimes -= 1;
        throw fault.error();
      }
      await unitOfWork.run(envelope, async (tx) => {
        await tx.manager.query(`INSERT INTO effects (saga_id, message_id) VALUES ($1, $2)`, [envelope.sagaId, envelope.id]);
        tx.reply(ProvisionStorage.succeeded, { siteId: envelope.sagaId, path: `/srv/${envelope.sagaId}` });
      });
    },
    true,
  );
  await new Promise<void>((resolve, reject) => server.listen((error?: unknown) => (error ? reject(error) : resolve())));
  probe = await recordTopics(testKafka(), [Topics.storageCommands, `${Topics.storageCommands}.dlq`, Topics.storageEvents]);
}, 60_000);

afterAll(async () => {
  await server?.close();
  await probe?.stop();
  await relay?.stop();
  await producer?.disconnect();
  await dataSource?.destroy();
  await database?.drop();
});

const copiesOnKafka = (messageId: string, topic: string = Topics.storageCommands): number =>
  probe.messages.filter((message) => message.topic === topic && headerOf(message, 'message-id') === messageId).length;

describe('messaging backbone', () => {
  it('carries a message from one service outbox through Kafka into another service inbox, with its correlation', async () => {
    const sent = command();
    await unitOfWork.run(null, async (tx) => tx.publish(sent));

    await waitFor(async () => (await effectsOf(sent.sagaId)) === 1, { within: '30s', what: 'the command effect' });
    const inbox = await dataSource.query(`SELECT type FROM inbox_messages WHERE consumer = $1 AND message_id = $2`, [config.service, sent.id]);
    expect(inbox).toEqual([{ type: 'ProvisionStorage' }]);

    // The reply went out through the outbox, caused by the command, in the same conversation.
    const reply = await waitFor(
      () => probe.messages.find((message) => message.topic === Topics.storageEvents && headerOf(message, 'causation-id') === sent.id),
      { within: '20s', what: 'the StorageProvisioned reply on storage.events' },
    );
    const replyEnvelope = JSON.parse(reply.value!.toString()) as Envelope;
    expect(replyEnvelope).toMatchObject({ type: 'StorageProvisioned', sagaId: sent.sagaId, correlationId: sent.correlationId, causationId: sent.id });
    expect(reply.key?.toString()).toBe(sent.sagaId);

    const unsent = await dataSource.query(`SELECT count(*) AS n FROM outbox_messages WHERE sent_at IS NULL`);
    await waitFor(async () => Number((await dataSource.query(`SELECT count(*) AS n FROM outbox_messages WHERE sent_at IS NULL`))[0].n) === 0, {
      within: '10s',
      what: `outbox fully marked sent (was ${unsent[0].n})`,
    });
  });

  it('gives a message delivered twice exactly one effect', async () => {
    const sent = command();
    const raw = kafka.producer({ allowAutoTopicCreation: false });
    await raw.connect();
    const value = JSON.stringify(sent);
    await raw.send({ topic: Topics.storageCommands, messages: [{ key: sent.sagaId, value }, { key: sent.sagaId, value }] });
    // A later message on the same key (same partition) proves both copies were consumed.
    const sentinel = { ...command(sent.sagaId), sagaId: sent.sagaId };
    await raw.send({ topic: Topics.storageCommands, messages: [{ key: sent.sagaId, value: JSON.stringify(sentinel) }] });
    await raw.disconnect();

    await waitFor(async () => (await effectsOf(sent.sagaId)) === 2, { within: '30s', what: 'the command and the sentinel handled' });
    const rows = await dataSource.query(`SELECT message_id FROM effects WHERE saga_id = $1 ORDER BY id`, [sent.sagaId]);
    expect(rows.map((row: { message_id: string }) => row.message_id)).toEqual([sent.id, sentinel.id]);
  });

  it('publishes the rows a commit hands over in commit order, and marks them sent without being asked', async () => {
    const sagaId = randomUUID();
    mine.add(sagaId);
    const sent = Array.from({ length: 20 }, (_, index) =>
      ProvisionStorage.create({ siteId: sagaId }, { sagaId, correlationId: `corr-${sagaId}-${index}`, causationId: null }),
    );
    // One commit at a time, as a handler does: each is handed to the relay as it commits.
    for (const envelope of sent) await unitOfWork.run(null, async (tx) => tx.publish(envelope));
    await waitFor(() => sent.every((envelope) => copiesOnKafka(envelope.id) >= 1), { within: '20s', what: 'all 20 on Kafka' });
    const order = probe.messages.filter((message) => message.topic === Topics.storageCommands && headerOf(message, 'saga-id') === sagaId).map((message) => headerOf(message, 'message-id'));
    expect(order.filter((id, index) => order.indexOf(id) === index)).toEqual(sent.map((envelope) => envelope.id));
    await waitFor(
      async () =>
        Number((await dataSource.query(`SELECT count(*) AS n FROM outbox_messages WHERE message_id = ANY($1) AND sent_at IS NULL`, [sent.map((envelope) => envelope.id)]))[0].n) === 0,
      { within: '10s', what: 'every handed-over row marked sent' },
    );
    await waitFor(async () => (await effectsOf(sagaId)) === 20, { within: '30s', what: 'the 20 effects' });
  });

  it('loses nothing when the relay dies between publishing and marking sent, and the re-send has no second effect', async () => {
    const sent = command();
    await dataSource.query(`SELECT 1`);
    // A second relay cannot lead while the first holds the lock: stop the healthy one.
    await relay.stop();
    let crashed = false;
    const crashing = new OutboxRelay({
      dataSource,
      producer,
      connectionString: database.url,
      logger,
      pollMs: 100,
      batchSize: 500,
      retentionMs: 3_600_000,
      afterPublish: () => {
        crashed = true;
        throw new Error('simulated crash after publish, before mark');
      },
    });
    crashing.start();
    await unitOfWork.run(null, async (tx) => tx.publish(sent));
    await waitFor(() => crashed, { within: '20s', what: 'the relay to publish and crash' });
    await crashing.stop();
    expect(Number((await dataSource.query(`SELECT count(*) AS n FROM outbox_messages WHERE message_id = $1 AND sent_at IS NULL`, [sent.id]))[0].n)).toBe(1);

    relay = new OutboxRelay({ dataSource, producer, connectionString: database.url, logger, pollMs: 200, batchSize: 500, retentionMs: 3_600_000 });
    relay.start();
    await waitFor(() => copiesOnKafka(sent.id) === 2, { within: '30s', what: 'the message published twice (before and after the crash)' });
    await waitFor(async () => (await effectsOf(sent.sagaId)) === 1, { within: '30s', what: 'the effect' });
    await waitFor(
      async () => Number((await dataSource.query(`SELECT count(*) AS n FROM outbox_messages WHERE message_id = $1 AND sent_at IS NOT NULL`, [sent.id]))[0].n) === 1,
      { within: '10s', what: 'the row marked sent' },
    );
    expect(await effectsOf(sent.sagaId)).toBe(1);
  });

  it('sends unreadable and invalid messages to the DLQ with their error, and keeps processing the partition', async () => {
    const sagaId = randomUUID();
    const valid = command(sagaId);
    const wrongVersion = { ...command(sagaId), version: 7 };
    const missingField: Record<string, unknown> = { ...command(sagaId) };
    delete missingField.correlationId;
    const unknownType = { ...command(sagaId), type: 'ProvisionSpaceship' };
    const badPayload = { ...command(sagaId), payload: { siteId: 'not-a-uuid', extra: true } };
    const raw = kafka.producer({ allowAutoTopicCreation: false });
    await raw.connect();
    await raw.send({
      topic: Topics.storageCommands,
      messages: [
        { key: sagaId, value: '{ this is not json', headers: { marker: `${sagaId}-json` } },
        { key: sagaId, value: JSON.stringify(wrongVersion), headers: { marker: `${sagaId}-version` } },
        { key: sagaId, value: JSON.stringify(missingField), headers: { marker: `${sagaId}-missing` } },
        { key: sagaId, value: JSON.stringify(unknownType), headers: { marker: `${sagaId}-type` } },
        { key: sagaId, value: JSON.stringify(badPayload), headers: { marker: `${sagaId}-payload` } },
        { key: sagaId, value: JSON.stringify(valid) },
      ],
    });
    await raw.disconnect();

    await waitFor(async () => (await effectsOf(sagaId)) === 1, { within: '30s', what: 'the valid message after the bad ones' });
    let seenMarkers: string[] = [];
    const dlq = await waitFor(
      () => {
        // Only this consumer's entries: on a shared broker another service may consume the topic too.
        const found = probe.messages.filter(
          (message) =>
            message.topic === `${Topics.storageCommands}.dlq` && headerOf(message, 'marker')?.startsWith(sagaId) && headerOf(message, 'dlq-consumer-group') === config.groupId,
        );
        seenMarkers = [...new Set(found.map((message) => headerOf(message, 'marker') ?? '?'))];
        if (seenMarkers.length !== 5) throw new Error(`DLQ has ${seenMarkers.join(', ') || 'nothing'} of this test`);
        return found;
      },
      { within: '20s', what: 'five DLQ entries' },
    );
    expect(seenMarkers).toHaveLength(5);
    const errorOf = (suffix: string): string => headerOf(dlq.find((message) => headerOf(message, 'marker') === `${sagaId}-${suffix}`)!, 'dlq-error') ?? '';
    expect(errorOf('json')).toMatch(/not JSON/);
    expect(errorOf('version')).toMatch(/unsupported version 7 of ProvisionStorage/);
    expect(errorOf('missing')).toMatch(/correlationId/);
    expect(errorOf('type')).toMatch(/unknown message type ProvisionSpaceship/);
    expect(errorOf('payload')).toMatch(/payload\.siteId/);
    for (const message of dlq) {
      expect(headerOf(message, 'dlq-original-topic')).toBe(Topics.storageCommands);
      expect(headerOf(message, 'dlq-consumer-group')).toBe(config.groupId);
      expect(message.key?.toString()).toBe(sagaId);
    }
  });

  it('retries a transient handler error in place and handles the message once', async () => {
    const sent = command();
    faults.set(sent.sagaId, { failTimes: 2, error: () => Object.assign(new Error('connection reset'), { code: 'ECONNRESET' }) });
    await unitOfWork.run(null, async (tx) => tx.publish(sent));
    await waitFor(async () => (await effectsOf(sent.sagaId)) === 1, { within: '30s', what: 'the effect after two transient failures' });
    expect(faults.get(sent.sagaId)?.failTimes).toBe(0);
    expect(copiesOnKafka(sent.id, `${Topics.storageCommands}.dlq`)).toBe(0);
  });

  it('parks a message whose handler fails the same way every time in the DLQ, and moves on', async () => {
    const poison = command();
    faults.set(poison.sagaId, { failTimes: 1_000, error: () => new TypeError('cannot read properties of undefined') });
    const next = command();
    await unitOfWork.run(null, async (tx) => {
      tx.publish(poison);
      tx.publish({ ...next, sagaId: next.sagaId });
    });
    await waitFor(async () => (await effectsOf(next.sagaId)) === 1, { within: '30s', what: 'the message after the poison one' });
    const parked = await waitFor(() => probe.messages.find((message) => message.topic === `${Topics.storageCommands}.dlq` && headerOf(message, 'message-id') === poison.id), {
      within: '20s',
      what: 'the poison message in the DLQ',
    });
    expect(headerOf(parked, 'dlq-error')).toMatch(/cannot read properties of undefined/);
    expect(await effectsOf(poison.sagaId)).toBe(0);
  });
});
