import { randomBytes } from 'node:crypto';
import type { Envelope } from '@sitesaga/message-kit';
import { type Consumer, Kafka, logLevel, type Producer } from 'kafkajs';
import type { DataSource } from 'typeorm';
import type { AnyCommand } from './define-saga';
import { SagaEngine } from './saga-engine';
import { BookHotel, ChargeCard, ConfirmTrip, ForgetTrip, HoldSeat, IssueTicket } from './testing/trip-catalogue';
import { scratchDatabase } from './testing/scratch-database';
import { RECEIPT, type TripData, tripSaga, tripSagaV2 } from './testing/trip-saga';

/**
 * A redeploy over a real broker and Postgres (docs/adr/0007): trip sagas run on version 1,
 * the orchestrator stops with them mid-flight, and comes back running versions 1 and 2 of
 * BookTrip (2 renames IssueTicket to IssueETicket and adds ForgetTrip). The old sagas finish
 * exactly as version 1 says, new ones take version 2's path.
 *
 * The orchestrator here is the engine plus a kafkajs consumer of the participant's replies
 * (one transaction per reply; its commands are produced after the commit: this test is
 * about versions, not the outbox). The participant answers every command with success,
 * and holds back its IssueTicket answers until told, so the sagas wait there during the stop.
 */
jest.setTimeout(180_000);

const SUCCESS: Record<string, (tripId: string) => Record<string, unknown>> = {
  [HoldSeat.type]: (tripId) => ({ tripId, traveller: 'ada', destination: 'Lisbon' }),
  [BookHotel.type]: (tripId) => ({ tripId, confirmation: 'H-1' }),
  [ChargeCard.type]: (tripId) => ({ tripId, paymentId: 'pay_1', receipt: RECEIPT }),
  [IssueTicket.type]: (tripId) => ({ tripId, seat: '12A' }),
  [ConfirmTrip.type]: (tripId) => ({ tripId, url: 'https://trip.example.com' }),
  [ForgetTrip.type]: (tripId) => ({ tripId }),
};
const COMMANDS = new Map<string, AnyCommand>([HoldSeat, BookHotel, ChargeCard, IssueTicket, ConfirmTrip, ForgetTrip].map((command) => [command.type, command]));

const prefix = `t-redeploy-${randomBytes(3).toString('hex')}.`;
const topics = { commands: `${prefix}trips.commands`, events: `${prefix}trips.events` };
const kafka = new Kafka({ clientId: 'saga-redeploy-test', brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:29092').split(','), logLevel: logLevel.NOTHING });

let database: Awaited<ReturnType<typeof scratchDatabase>>;
let dataSource: DataSource;
let producer: Producer;
const consumers: Consumer[] = [];

/** The toy participant: answers with success; IssueTicket answers wait while `holdTickets`. */
const participant = { holdTickets: true, held: [] as Envelope[] };

async function produce(topic: string, envelopes: readonly Envelope[]): Promise<void> {
  if (envelopes.length === 0) return;
  await producer.send({ topic, messages: envelopes.map((envelope) => ({ key: envelope.sagaId, value: JSON.stringify(envelope) })) });
}

const answer = (command: Envelope): Envelope => {
  const definition = COMMANDS.get(command.type);
  const payload = SUCCESS[command.type];
  if (!definition || !payload) throw new Error(`the participant does not know ${command.type}`);
  const tripId = (command.payload as { tripId: string }).tripId;
  return definition.succeeded.create(payload(tripId) as never, { sagaId: command.sagaId, correlationId: command.correlationId, causationId: command.id });
};

async function consume(groupId: string, topic: string, handle: (envelope: Envelope) => Promise<void>): Promise<Consumer> {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000, retry: { retries: 10 } });
  consumers.push(consumer);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => handle(JSON.parse(message.value?.toString() ?? 'null') as Envelope) });
  return consumer;
}

/** An orchestrator process: the engine with `definitions`, consuming replies in group `orchestrator`. */
async function startOrchestrator(definitions: ConstructorParameters<typeof SagaEngine>[0]) {
  const engine = new SagaEngine(definitions);
  const run = async (work: (tx: { manager: DataSource['manager']; publish: (envelope: Envelope) => void }) => Promise<unknown>) => {
    const outgoing: Envelope[] = [];
    await dataSource.transaction((manager) => work({ manager, publish: (envelope) => outgoing.push(envelope) }));
    await produce(
      topics.commands,
      outgoing.filter((envelope) => COMMANDS.has(envelope.type)),
    );
  };
  const consumer = await consume(`${prefix}orchestrator`, topics.events, (reply) => run((tx) => engine.handleReply(tx, reply)));
  return {
    engine,
    start: (sagaId: string) =>
      run((tx) =>
        engine.start(tx, 'BookTrip', {
          sagaId,
          data: { tripId: sagaId, traveller: 'ada', destination: 'Lisbon' },
          cause: { id: `request-${sagaId}`, type: 'BookTripRequested', correlationId: sagaId },
        }),
      ),
    stop: () => consumer.disconnect(),
  };
}

const load = (sagaId: string) => new SagaEngine([tripSaga]).store.load<TripData>(dataSource.manager, sagaId);
const sentBy = async (sagaId: string) =>
  (await new SagaEngine([tripSaga]).store.history(dataSource.manager, sagaId))
    .filter((entry) => entry.direction === 'out')
    .map((entry) => `${entry.type}@${entry.step ?? ''}`);

async function until<T>(what: string, check: () => Promise<T | undefined | false>, withinMs = 90_000): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const sagaId = (n: number) => `eeeeeeee-0000-4000-8000-${randomBytes(4).toString('hex')}${String(n).padStart(4, '0')}`;

beforeAll(async () => {
  database = await scratchDatabase();
  dataSource = database.dataSource;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [topics.commands, topics.events].map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })),
  });
  await admin.disconnect();
  producer = kafka.producer();
  await producer.connect();
  await consume(`${prefix}participant`, topics.commands, async (command) => {
    if (command.type === IssueTicket.type && participant.holdTickets) {
      participant.held.push(command);
      return;
    }
    await produce(topics.events, [answer(command)]);
  });
});

afterAll(async () => {
  for (const consumer of consumers) await consumer.disconnect().catch(() => undefined);
  await producer?.disconnect();
  const admin = kafka.admin();
  await admin.connect().catch(() => undefined);
  await admin.deleteTopics({ topics: [topics.commands, topics.events] }).catch(() => undefined);
  await admin.disconnect().catch(() => undefined);
  await database?.drop();
});

it('lets sagas started on version 1 finish on it after a restart that deploys version 2 beside it, while new sagas take version 2', async () => {
  const before = await startOrchestrator([tripSaga]);
  const old = [sagaId(1), sagaId(2), sagaId(3)];
  for (const id of old) await before.start(id);
  await until('the old sagas at IssueTicket', async () => participant.held.length === old.length);
  await before.stop();

  // While no orchestrator runs, the participant answers: the replies wait in Kafka.
  participant.holdTickets = false;
  await produce(topics.events, participant.held.map(answer));

  const after = await startOrchestrator([tripSaga, tripSagaV2]);
  const fresh = [sagaId(4), sagaId(5)];
  for (const id of fresh) await after.start(id);

  for (const id of [...old, ...fresh]) await until(`saga ${id} COMPLETED`, async () => (await load(id))?.status === 'COMPLETED');
  for (const id of old) {
    expect(await load(id)).toMatchObject({ definitionVersion: 1 });
    expect(await sentBy(id)).toEqual([
      'TripStarted@',
      'HoldSeat@HoldSeat',
      'BookHotel@BookHotel',
      'ChargeCard@ChargeCard',
      'IssueTicket@IssueTicket',
      'ConfirmTrip@ConfirmTrip',
      'TripBooked@',
    ]);
  }
  for (const id of fresh) {
    expect(await load(id)).toMatchObject({ definitionVersion: 2 });
    expect((await load(id))?.steps.map((step) => step.name)).toEqual(['HoldSeat', 'BookHotel', 'ChargeCard', 'IssueETicket', 'ConfirmTrip', 'ForgetTrip']);
    expect(await sentBy(id)).toEqual([
      'TripStarted@',
      'HoldSeat@HoldSeat',
      'BookHotel@BookHotel',
      'ChargeCard@ChargeCard',
      'IssueTicket@IssueETicket',
      'ConfirmTrip@ConfirmTrip',
      'ForgetTrip@ForgetTrip',
      'TripBooked@',
    ]);
  }
  await after.stop();
});
