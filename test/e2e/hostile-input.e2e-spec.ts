import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { CreateSite, type Envelope, SiteCreated, SiteCreationFailed, SiteCreationRejected, Topics, dlqTopicOf } from '@sitesaga/contracts';
import { type KafkaMessage, Partitioners, type Producer } from 'kafkajs';
import { COMMAND_TOPICS, type HostileMessage, hostileMessages } from '../support/hostile-envelopes';
import { headerOf, recordTopics } from '../support/kafka-probe';
import { RunningSystem } from '../support/system';
import { waitFor } from '../support/wait-for';

/**
 * Nothing a client sends may stop the platform (issue 9): a NUL byte in an envelope id
 * once blocked its partition for good (Postgres refused the inbox insert with 08P01, and
 * the error was retried as a lost connection). Here that message, and ~1,600 generated
 * hostile messages on every command topic, must each end in the topic's DLQ (or, for a
 * readable CreateSite, a SiteCreationRejected), create nothing, and leave every partition
 * of every command topic flowing.
 */
jest.setTimeout(300_000);

const PARTITIONS = 3;
const SEED = Number(process.env.HOSTILE_SEED ?? Math.floor(Math.random() * 2 ** 31));
const system = new RunningSystem({ label: 'hostile', env: { 'site-saga': { SAGA_TIME_SCALE: '0.1' } } });
let producer: Producer;
let deadLetters: Awaited<ReturnType<typeof recordTopics>>;
/** Sites this file created on purpose: the only ones that may exist anywhere. */
const validSites = new Set<string>();

beforeAll(async () => {
  process.stdout.write(`hostile-input: HOSTILE_SEED=${SEED} (set it to replay this run)\n`);
  await system.start({ partitions: PARTITIONS });
  producer = system.kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  deadLetters = await recordTopics(
    system.kafka,
    COMMAND_TOPICS.map((topic) => system.wireTopic(dlqTopicOf(topic))),
  );
}, 240_000);

afterAll(async () => {
  await deadLetters?.stop().catch(() => undefined);
  await producer?.disconnect().catch(() => undefined);
  await system.stop();
}, 90_000);

/** The partition the orchestrator's producers (murmur2, keyed by saga id) give a saga id. */
const partitionOf = (key: string): number =>
  Partitioners.DefaultPartitioner()({
    topic: 'any',
    partitionMetadata: Array.from({ length: PARTITIONS }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] })),
    message: { key, value: null },
  });

/**
 * A valid CreateSite for every partition: its saga id keys it (and all its participant
 * commands) to that partition on every topic, so each partition of each command topic
 * must carry one message past whatever hostile input sits before it.
 */
async function createSiteOnEveryPartition(label: string): Promise<string[]> {
  const ids: string[] = [];
  for (let partition = 0; partition < PARTITIONS; partition++) {
    let sagaId = randomUUID();
    while (partitionOf(sagaId) !== partition) sagaId = randomUUID();
    ids.push(sagaId);
  }
  for (const [index, sagaId] of ids.entries()) {
    validSites.add(sagaId);
    const name = `${label}-${index}-${sagaId.slice(0, 8)}`;
    await system.send(
      CreateSite.create({ name, domain: `${name}.example.com`, adminEmail: 'owner@example.com' }, { sagaId, correlationId: randomUUID(), causationId: null }),
    );
  }
  return ids;
}

async function expectAllCreated(ids: readonly string[], within: `${number}s`): Promise<void> {
  await waitFor(() => ids.every((sagaId) => system.outcome(sagaId, [SiteCreated, SiteCreationFailed, SiteCreationRejected])), {
    within,
    what: `an outcome for the valid CreateSite on each of the ${PARTITIONS} partitions (seed ${SEED})`,
    interval: 250,
  });
  expect(ids.map((sagaId) => [sagaId, system.outcome(sagaId, [SiteCreated, SiteCreationFailed, SiteCreationRejected])?.type])).toEqual(
    ids.map((sagaId) => [sagaId, 'SiteCreated']),
  );
}

const dlqOf = (topic: string): KafkaMessage[] => deadLetters.messages.filter((message) => message.topic === system.wireTopic(dlqTopicOf(topic)));

describe('hostile input', () => {
  it('dead-letters a CreateSite with a NUL byte in its envelope id, on every partition, and every partition flows on', async () => {
    const sent: { id: string; partition: number }[] = [];
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const sagaId = randomUUID();
      const envelope = CreateSite.create(
        { name: `nul-${sagaId.slice(0, 8)}`, domain: `nul-${sagaId.slice(0, 8)}.example.com`, adminEmail: 'owner@example.com' },
        {
          sagaId,
          correlationId: randomUUID(),
          causationId: null,
        },
      );
      const id = `nul\u0000${randomUUID()}`;
      await producer.send({
        topic: system.wireTopic(Topics.siteSagaCommands),
        messages: [{ partition, key: sagaId, value: JSON.stringify({ ...envelope, id }) }],
      });
      sent.push({ id, partition });
    }
    // Valid commands queued right behind the poisoned ones, on the same partitions.
    const ids = await createSiteOnEveryPartition('after-nul');

    await expectAllCreated(ids, '120s');
    const letters = await waitFor(() => dlqOf(Topics.siteSagaCommands).length >= PARTITIONS && dlqOf(Topics.siteSagaCommands), {
      within: '30s',
      what: 'the NUL-id commands in site-saga.commands.dlq',
    });
    expect(letters.map((letter) => Number(headerOf(letter, 'dlq-original-partition'))).sort()).toEqual(sent.map(({ partition }) => partition).sort());
    for (const letter of letters) {
      expect(JSON.parse(headerOf(letter, 'dlq-reasons')!)).toEqual([
        { field: 'id', message: 'must not contain control characters (U+0000 to U+001F, U+007F)' },
      ]);
      expect((JSON.parse(letter.value!.toString()) as Envelope).id).toMatch(/^nul\u0000/); // the original, byte for byte
    }
  });

  it(`throws generated hostile envelopes at every command topic: each is dead-lettered or rejected, nothing is created, every partition still flows`, async () => {
    const messages = hostileMessages(SEED);
    const bytes = messages.reduce((total, message) => total + (message.value?.length ?? 0), 0);
    process.stdout.write(
      `hostile-input: sending ${messages.length} hostile messages (${(bytes / 1e6).toFixed(1)} MB) to ${COMMAND_TOPICS.length} command topics, seed ${SEED}\n`,
    );
    const lettersBefore = deadLetters.messages.length;

    // Where each landed, so that each can be found again in a DLQ or answered by a rejection.
    const placed: (HostileMessage & { partition: number; offset: string })[] = [];
    const started = Date.now();
    for (let next = 0; next < messages.length; next += 50) {
      await Promise.all(
        messages.slice(next, next + 50).map(async (message) => {
          const [metadata] = await producer.send({
            topic: system.wireTopic(message.topic),
            acks: -1,
            messages: [{ key: message.key, value: message.value, headers: message.headers }],
          });
          placed.push({ ...message, partition: metadata!.partition, offset: metadata!.baseOffset! });
        }),
      );
    }
    process.stdout.write(`hostile-input: sent in ${Date.now() - started} ms\n`);

    // Then a valid CreateSite per partition, behind all of it.
    const ids = await createSiteOnEveryPartition('after-hostile');
    await expectAllCreated(ids, '120s');

    // Every hostile message is accounted for: in its topic's DLQ, or (a readable CreateSite
    // with a bad payload) answered with SiteCreationRejected. None is lost, none is handled.
    const rejectedCommands = () => new Set(system.events(Topics.siteSagaEvents, { type: SiteCreationRejected.type }).map((event) => event.causationId));
    const lettered = () =>
      new Set(
        deadLetters.messages
          .slice(lettersBefore)
          .map(
            (letter) => `${headerOf(letter, 'dlq-original-topic')}/${headerOf(letter, 'dlq-original-partition')}/${headerOf(letter, 'dlq-original-offset')}`,
          ),
      );
    const unaccounted = () => {
      const [letters, rejected] = [lettered(), rejectedCommands()];
      return placed.filter((message) => {
        if (letters.has(`${message.topic}/${message.partition}/${message.offset}`)) return false;
        const id = idOf(message);
        return !(message.topic === Topics.siteSagaCommands && id !== null && rejected.has(id));
      });
    };
    await waitFor(() => unaccounted().length === 0, {
      within: '90s',
      what: `every hostile message in a DLQ or rejected (seed ${SEED}); still missing e.g. ${JSON.stringify(
        unaccounted()
          .slice(0, 3)
          .map((message) => message.what),
      )}`,
      interval: 500,
    });

    // Every partition of every command topic was consumed to its end by its service.
    const admin = system.kafka.admin();
    await admin.connect();
    try {
      const groups: Record<string, string> = {
        [Topics.siteSagaCommands]: 'site-saga',
        [Topics.sitesCommands]: 'sites',
        [Topics.storageCommands]: 'storage',
        [Topics.databasesCommands]: 'databases',
        [Topics.bootstrapCommands]: 'bootstrap',
      };
      for (const topic of COMMAND_TOPICS) {
        const wire = system.wireTopic(topic);
        await waitFor(
          async () => {
            const ends = await admin.fetchTopicOffsets(wire);
            const [committed] = await admin.fetchOffsets({ groupId: `${system.prefix}${groups[topic]}`, topics: [wire] });
            return ends.every(({ partition, high }) => committed!.partitions.find((entry) => entry.partition === partition)?.offset === high);
          },
          { within: '30s', what: `${groups[topic]} consumed every partition of ${topic} to its end (seed ${SEED})`, interval: 500 },
        );
      }
    } finally {
      await admin.disconnect();
    }

    // Nothing was created for any of it: no record in any service, no directory, database or role.
    const valid = [...validSites];
    const rowsOutside = async (app: 'sites' | 'storage' | 'databases' | 'bootstrap', table: string, column: string) =>
      (
        await system.query<{ id: string }>(
          `SELECT ${column}::text AS id FROM ${table} WHERE NOT (${column}::text = ANY($1))`,
          [valid],
          system.serviceDatabase(app),
        )
      ).map((row) => row.id);
    expect(await rowsOutside('sites', 'sites', 'id')).toEqual([]);
    expect(await rowsOutside('storage', 'storage_records', 'site_id')).toEqual([]);
    expect(await rowsOutside('databases', 'database_records', 'site_id')).toEqual([]);
    expect(await rowsOutside('bootstrap', 'bootstrap_records', 'site_id')).toEqual([]);
    const sagas = await system.query<{ id: string }>(`SELECT id::text AS id FROM saga_instances`, [], system.serviceDatabase('site-saga'));
    expect(sagas.map((saga) => saga.id).filter((id) => !validSites.has(id))).toEqual([]);
    expect(fs.readdirSync(system.storageRoot).filter((entry) => !validSites.has(entry))).toEqual([]);
    // (Only a well-formed uuid can name a site database; the others are refused before any handler.)
    const hostileNames = [...new Set(placed.flatMap((message) => message.ids))]
      .filter((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id))
      .map((id) => `site_${id.replace(/-/g, '')}`);
    expect(hostileNames.length).toBeGreaterThan(100);
    expect(await system.query(`SELECT datname FROM pg_database WHERE datname = ANY($1)`, [hostileNames])).toEqual([]);
    expect(await system.query(`SELECT rolname FROM pg_roles WHERE rolname = ANY($1)`, [hostileNames])).toEqual([]);

    // Every refusal is bounded: no DLQ record or rejection grows with its input.
    for (const letter of deadLetters.messages.slice(lettersBefore)) {
      expect(Buffer.byteLength(headerOf(letter, 'dlq-reasons') ?? '')).toBeLessThan(16_000);
      expect(Buffer.byteLength(headerOf(letter, 'dlq-error') ?? '')).toBeLessThanOrEqual(4_000);
    }
    for (const rejection of system.events(Topics.siteSagaEvents, { type: SiteCreationRejected.type })) {
      expect(Buffer.byteLength(JSON.stringify(rejection))).toBeLessThan(16_000);
    }
    process.stdout.write(
      `hostile-input: ${placed.length} hostile messages (seed ${SEED}): ${deadLetters.messages.length - lettersBefore} dead-lettered, ${rejectedCommands().size} rejected; nothing created; every partition flows; ${Date.now() - started} ms from the first send\n`,
    );
  });
});

/** The envelope id of a hostile message, when its value is a JSON object with a string id. */
function idOf(message: HostileMessage): string | null {
  if (message.value === null) return null;
  try {
    const parsed = JSON.parse(message.value.toString()) as { id?: unknown };
    return typeof parsed?.id === 'string' ? parsed.id : null;
  } catch {
    return null;
  }
}
