import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createKafka, kafkaSecurityFromEnv, messagingConfigFromEnv } from '@sitesaga/messaging';
import { Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import { type KafkaBroker, startKafka } from '../../scripts/local/kafka-broker';

/**
 * A broker that wants SASL/SCRAM on its listener: the services' client (createKafka, with
 * KAFKA_SASL_* from the environment) gets in with its principal's password and is refused
 * with a wrong one or none. A broker of its own: the shared test broker has no SASL.
 */
jest.setTimeout(240_000);
const logger = pino({ level: 'silent' });
const USER = 'storage';
const PASSWORD = randomBytes(18).toString('base64url');

let broker: KafkaBroker;
let saslBrokers: string;
let dataDir: string;

beforeAll(async () => {
  // Ports below the kernel's ephemeral range (32768+), so no client socket takes them while
  // the JVM starts; the broker's pair moves on if another run holds it.
  const saslPort = 28_292;
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-sasl-'));
  broker = await startKafka({
    port: 28_192,
    exclusive: true,
    existingBrokers: '',
    dataDir,
    logFile: path.join(dataDir, 'kafka.log'),
    sasl: { port: saslPort, users: { [USER]: PASSWORD } },
    log: () => undefined,
  });
  saslBrokers = `127.0.0.1:${saslPort}`;
  // The topic is made over the plaintext listener (the operators' side of this test broker).
  const admin = new Kafka({ clientId: 'sasl-e2e-admin', brokers: [broker.brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'sasl-e2e', numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
});

afterAll(async () => {
  await broker?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

const clientWith = (env: NodeJS.ProcessEnv) =>
  createKafka(messagingConfigFromEnv('storage', { KAFKA_BROKERS: saslBrokers }), logger, kafkaSecurityFromEnv(env));

describe('Kafka SASL/SCRAM', () => {
  it('lets the service in with its principal and password: it produces and consumes', async () => {
    const kafka = clientWith({ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: USER, KAFKA_SASL_PASSWORD: PASSWORD });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const value = randomUUID();
    await producer.send({ topic: 'sasl-e2e', messages: [{ value }] });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: `sasl-e2e-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topics: ['sasl-e2e'], fromBeginning: true });
    const seen = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no message within 60 s')), 60_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          if (message.value?.toString() === value) {
            clearTimeout(timer);
            resolve(value);
          }
        },
      });
    });
    await consumer.disconnect();
    expect(seen).toBe(value);
  });

  it('refuses a wrong password and a client without SASL', async () => {
    const wrong = clientWith({ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: USER, KAFKA_SASL_PASSWORD: 'not-the-password' });
    await expect(wrong.admin({ retry: { retries: 0 } }).connect()).rejects.toThrow(/SASL SCRAM SHA256 authentication failed/i);
    const anonymous = new Kafka({ clientId: 'sasl-e2e-anonymous', brokers: [saslBrokers], logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 3_000, requestTimeout: 3_000 });
    await expect(anonymous.admin({ retry: { retries: 0 } }).listTopics()).rejects.toThrow();
  });

  it('refuses to configure a mechanism without its principal, or an unknown one, naming the variable', () => {
    expect(() => kafkaSecurityFromEnv({ KAFKA_SASL_MECHANISM: 'scram-sha-256' })).toThrow(/KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/);
    expect(() => kafkaSecurityFromEnv({ KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_USERNAME: 'x', KAFKA_SASL_PASSWORD: 'y' })).toThrow(/KAFKA_SASL_MECHANISM must be one of/);
    expect(kafkaSecurityFromEnv({})).toEqual({});
  });
});
