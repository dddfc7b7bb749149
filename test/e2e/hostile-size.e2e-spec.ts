import { randomUUID } from 'node:crypto';
import { CreateSite, DeleteSite, SiteCreated, SiteCreationFailed, SiteCreationRejected, Topics } from '@sitesaga/contracts';
import { Partitioners } from 'kafkajs';
import { headerOf, recordTopics } from '../support/kafka-probe';
import { RunningSystem } from '../support/system';
import { waitFor } from '../support/wait-for';

/**
 * Input bigger than anything the broker takes must not stop the platform (issue 9, 1 and 2),
 * with all five services as processes:
 * 1. an invalid DeleteSite with 60,000 unknown keys (≈ 650 KB) makes a dead letter whose
 *    full report (≈ 3 MB) the broker would refuse: the DLQ gets a bounded copy, the full
 *    detail is in site-saga's dead_letters table, and the consumer goes on;
 * 2. a CreateSite with 60,000 unknown keys makes a rejection of ≈ 2.7 MB: it never stops
 *    the outbox (answered bounded, or parked and visible), and the relay goes on.
 * After each, a valid CreateSite on every partition of site-saga.commands completes.
 */
jest.setTimeout(420_000);

const PARTITIONS = 3;
const system = new RunningSystem({ label: 'hostile-size', env: { 'site-saga': { SAGA_TIME_SCALE: '0.1' } } });
let dlqProbe: Awaited<ReturnType<typeof recordTopics>>;
beforeAll(async () => {
  await system.start({ partitions: PARTITIONS });
  dlqProbe = await recordTopics(system.kafka, [system.wireTopic(`${Topics.siteSagaCommands}.dlq`)]);
}, 240_000);
afterAll(async () => {
  await dlqProbe?.stop();
  await system.stop();
}, 60_000);

/** Saga ids that land on each partition of a topic, as the producers' murmur2 partitioner puts them. */
function sagaIdPerPartition(topic: string): string[] {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: PARTITIONS }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }));
  const found = new Map<number, string>();
  while (found.size < PARTITIONS) {
    const sagaId = randomUUID();
    const partition = partitioner({ topic, partitionMetadata, message: { key: sagaId, value: null } });
    if (!found.has(partition)) found.set(partition, sagaId);
  }
  return [...found.entries()].sort(([a], [b]) => a - b).map(([, sagaId]) => sagaId);
}

/** A valid CreateSite on every partition of site-saga.commands, each ending SiteCreated. */
async function everyPartitionCompletes(): Promise<void> {
  const sagaIds = sagaIdPerPartition(`${Topics.siteSagaCommands}`);
  for (const sagaId of sagaIds) {
    const name = `ok-${sagaId.slice(0, 8)}`;
    await system.send(
      CreateSite.create({ name, domain: `${name}.example.com`, adminEmail: `owner@${name}.example.com`, tagline: 'fine' } as never, {
        sagaId,
        correlationId: randomUUID(),
        causationId: null,
      }),
    );
  }
  for (const [partition, sagaId] of sagaIds.entries()) {
    const outcome = await system.waitForOutcome(sagaId, [SiteCreated, SiteCreationFailed, SiteCreationRejected], '180s');
    expect({ partition, type: outcome.type }).toEqual({ partition, type: 'SiteCreated' });
  }
}

const withUnknownKeys = (payload: Record<string, unknown>, count: number): Record<string, unknown> => {
  const padded = { ...payload };
  for (let index = 0; index < count; index++) padded[`k${index}`] = 1;
  return padded;
};

const sagaDatabase = (): string => system.serviceDatabase('site-saga');

describe('input bigger than the broker takes', () => {
  it('dead-letters a 650 KB invalid DeleteSite with 60,000 unknown keys as a bounded DLQ record, keeps the detail, and site-saga keeps consuming', async () => {
    const sagaId = randomUUID();
    const envelope = DeleteSite.create({ siteId: randomUUID() }, { sagaId, correlationId: randomUUID(), causationId: null });
    const value = JSON.stringify({ ...envelope, payload: withUnknownKeys(envelope.payload as Record<string, unknown>, 60_000) });
    expect(Buffer.byteLength(value)).toBeGreaterThan(600_000);
    await system.sendRaw(Topics.siteSagaCommands, value, sagaId);

    const letter = await waitFor(
      async () =>
        (
          await system.query<{ id: string; reasons: number; bytes: number }>(
            `SELECT id::text AS id, jsonb_array_length(reasons) AS reasons, octet_length(value) AS bytes FROM dead_letters WHERE message_key = convert_to($1, 'UTF8')`,
            [sagaId],
            sagaDatabase(),
          )
        )[0],
      { within: '120s', what: 'the dead letter in site-saga dead_letters' },
    );
    expect(letter.bytes).toBe(Buffer.byteLength(value));
    // The edge refuses a payload of 60,000 values with one bounded reason, not 60,000.
    expect(letter.reasons).toBeGreaterThanOrEqual(1);
    expect(letter.reasons).toBeLessThanOrEqual(21);

    // Published as a bounded copy that names the row (or, if the DLQ refused even that, parked).
    await waitFor(
      async () =>
        (
          await system.query<{ done: boolean }>(
            `SELECT published_at IS NOT NULL OR parked_reason IS NOT NULL AS done FROM dead_letters WHERE id = $1`,
            [letter.id],
            sagaDatabase(),
          )
        )[0]?.done,
      { within: '60s', what: 'the dead letter published or parked' },
    );
    const health = await fetch(`${system.service('site-saga').url}/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { checks: { consumer: { status: string } } }).checks.consumer.status).toBe('up');

    await everyPartitionCompletes();
  });

  it('answers a CreateSite with 60,000 unknown keys with a bounded rejection (once 2.7 MB, which stopped the outbox), and every partition completes after it', async () => {
    const sagaId = randomUUID();
    const name = `big-${sagaId.slice(0, 8)}`;
    const envelope = CreateSite.create({ name, domain: `${name}.example.com`, adminEmail: `owner@${name}.example.com`, tagline: 'x' } as never, {
      sagaId,
      correlationId: randomUUID(),
      causationId: null,
    });
    const value = JSON.stringify({ ...envelope, payload: withUnknownKeys(envelope.payload as Record<string, unknown>, 60_000) });
    await system.sendRaw(Topics.siteSagaCommands, value, sagaId);

    // The rejection is bounded (the edge gives one reason for a payload of 60,000 values),
    // so the client gets its answer; nothing is parked.
    const answered = await system.waitForOutcome(sagaId, [SiteCreationRejected, SiteCreationFailed, SiteCreated], '120s');
    expect(answered.type).toBe('SiteCreationRejected');
    expect(Buffer.byteLength(JSON.stringify(answered))).toBeLessThan(16 * 1024);
    expect((answered.payload as { reasons: unknown[] }).reasons.length).toBeLessThanOrEqual(21);

    await everyPartitionCompletes();
    // Nothing waits unsent behind the big row: the relay moved on.
    await waitFor(
      async () =>
        Number(
          (await system.query<{ n: string }>(`SELECT count(*) AS n FROM outbox_messages WHERE sent_at IS NULL AND parked_at IS NULL`, [], sagaDatabase()))[0]!
            .n,
        ) === 0,
      { within: '60s', what: 'site-saga outbox fully published' },
    );
  });
});
