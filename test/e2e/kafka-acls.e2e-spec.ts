import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ALL_TOPICS_WITH_DLQ, SiteCreated, SiteCreationFailed, Topics } from '@sitesaga/contracts';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, type Admin, Kafka, logLevel, ResourcePatternTypes } from 'kafkajs';
import { fetchKafkaJars, DEFAULT_KAFKA_VERSION, type KafkaBroker, startKafka } from '../../scripts/local/kafka-broker';
import { type AclBinding, aclBindings, loadAclSpec, passwordVariable, SCRIPT_FILE } from '../../scripts/kafka-security';
import { type App, RunningSystem } from '../support/system';

/**
 * The shipped ACLs on a real broker with the compose broker's authorizer settings
 * (startKafka({ authorizer: true }) takes them from infra/kafka/broker.properties):
 * the generated script, run with Kafka's own tools, makes exactly the bindings of
 * infra/kafka/acls.json; each principal may do what the table says and the broker refuses
 * the rest; and a create-site saga completes with every service logged in as itself.
 * A broker of its own (the shared test broker has no authorizer), on ports below the
 * ephemeral range.
 */
jest.setTimeout(600_000);
const run = promisify(execFile);

const spec = loadAclSpec();
const password = () => randomBytes(18).toString('hex');
const passwords = new Map([spec.admin, ...spec.principals.map((principal) => principal.name)].map((name) => [name, password()] as const));
const passwordOf = (name: string): string => passwords.get(name) ?? '';
/** Created by the script under test; every other user at format time. */
const SCRIPTED = 'storage';

let broker: KafkaBroker;
let saslBrokers: string;
let workDir: string;
let system: RunningSystem;
let admin: Admin;
let prefix: string;
/**
 * A second copy of every topic, with the same ACLs, for the probes of the refusals: the
 * probes' consumers join groups named like the services' and kafkajs may leave a member
 * behind for a session, which must not sit in a group the running services use.
 */
let probePrefix: string;
const previousBrokers = process.env.KAFKA_BROKERS;

/** `seen` collects the error types kafkajs logs (it folds some, e.g. a refused group coordinator, into a generic error). */
const clientAs = (principal: string, secret = passwordOf(principal), seen?: Set<string>) =>
  new Kafka({
    clientId: `acl-e2e-${principal}`,
    brokers: [saslBrokers],
    sasl: { mechanism: 'scram-sha-256', username: principal, password: secret },
    logLevel: seen ? logLevel.DEBUG : logLevel.NOTHING,
    logCreator: () => (entry) => {
      const type = (entry.log as { error?: { type?: string } }).error?.type;
      if (type) seen?.add(type);
    },
    connectionTimeout: 5_000,
    requestTimeout: 10_000,
    retry: { retries: 0 },
  });

/** Every type and message along an error's causes. */
const errorText = (error: unknown): string => {
  const parts: string[] = [];
  for (let current = error as { type?: string; message?: string; cause?: unknown; originalError?: unknown } | undefined, depth = 0; current && depth < 5; depth += 1) {
    parts.push(`${current.type ?? ''} ${current.message ?? ''}`);
    current = (current.cause ?? current.originalError) as typeof current;
  }
  return parts.join(' | ');
};

async function produceAs(principal: string, topic: string): Promise<'ok' | string> {
  const producer = clientAs(principal).producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
  try {
    await producer.connect();
    await producer.send({ topic: `${probePrefix}${topic}`, acks: -1, messages: [{ key: randomUUID(), value: '{}' }] });
    return 'ok';
  } catch (error) {
    return errorText(error);
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}

/** Joins `group` and reads `topic` as `principal`: 'ok' once it holds its partitions, else the error. */
async function consumeAs(principal: string, topic: string, group: string): Promise<'ok' | string> {
  const seen = new Set<string>();
  const consumer = clientAs(principal, passwordOf(principal), seen).consumer({ groupId: `${probePrefix}${group}`, retry: { retries: 0 }, allowAutoTopicCreation: false, maxWaitTimeInMs: 200 });
  try {
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [`${probePrefix}${topic}`], fromBeginning: true });
    } catch (error) {
      return errorText(error); // the topic's metadata is refused already
    }
    return await new Promise<'ok' | string>((resolve) => {
      const timer = setTimeout(() => resolve('no answer within 60 s'), 60_000);
      consumer.on(consumer.events.GROUP_JOIN, () => {
        clearTimeout(timer);
        resolve('ok');
      });
      consumer.on(consumer.events.CRASH, (event) => {
        clearTimeout(timer);
        resolve(`${errorText(event.payload.error)} | ${[...seen].join(' ')}`);
      });
      consumer.run({ eachMessage: async () => undefined }).catch((error: unknown) => {
        clearTimeout(timer);
        resolve(`${errorText(error)} | ${[...seen].join(' ')}`);
      });
    });
  } finally {
    await consumer.stop().catch(() => undefined);
    await consumer.disconnect().catch(() => undefined);
  }
}

const OPERATIONS: Readonly<Record<AclBinding['operation'], AclOperationTypes>> = {
  Read: AclOperationTypes.READ,
  Write: AclOperationTypes.WRITE,
  Create: AclOperationTypes.CREATE,
  Describe: AclOperationTypes.DESCRIBE,
};
const RESOURCES: Readonly<Record<AclBinding['resourceType'], AclResourceTypes>> = { topic: AclResourceTypes.TOPIC, group: AclResourceTypes.GROUP };

/** The broker's bindings of a principal, in the shape of aclBindings(). */
async function bindingsOnBroker(principal: string): Promise<string[]> {
  const { resources } = await admin.describeAcls({
    resourceType: AclResourceTypes.ANY,
    resourcePatternType: ResourcePatternTypes.ANY,
    principal,
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ANY,
  });
  const operationName = (value: number) => Object.entries(OPERATIONS).find(([, type]) => type === value)?.[0] ?? `op${value}`;
  const resourceName = (value: number) => Object.entries(RESOURCES).find(([, type]) => type === value)?.[0] ?? `resource${value}`;
  return resources
    .flatMap((resource) =>
      resource.acls.map((acl) => {
        const pattern = resource.resourcePatternType === ResourcePatternTypes.LITERAL ? '' : ` pattern${resource.resourcePatternType}`;
        const permission = acl.permissionType === AclPermissionTypes.ALLOW ? '' : ` permission${acl.permissionType}`;
        return `${acl.principal} ${operationName(acl.operation)} ${resourceName(resource.resourceType)} ${resource.resourceName}${pattern}${permission} host=${acl.host}`;
      }),
    )
    .sort();
}
const asText = (bindings: readonly AclBinding[]): string[] => bindings.map((binding) => `${binding.principal} ${binding.operation} ${binding.resourceType} ${binding.name} host=*`).sort();

/** kafka-acls.sh and kafka-configs.sh of the apache/kafka image: Kafka's own tool classes on the jars startKafka uses. */
function kafkaToolShims(directory: string): string {
  const jars = fetchKafkaJars(process.env.KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION, () => undefined);
  const log4j = path.join(directory, 'tools-log4j.properties');
  fs.writeFileSync(log4j, 'log4j.rootLogger=WARN, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\nlog4j.appender.stderr.Target=System.err\nlog4j.appender.stderr.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stderr.layout.ConversionPattern=%p %m%n\n');
  const bin = path.join(directory, 'bin');
  fs.mkdirSync(bin);
  for (const [tool, main] of [
    ['kafka-acls.sh', 'kafka.admin.AclCommand'],
    ['kafka-configs.sh', 'kafka.admin.ConfigCommand'],
  ] as const) {
    const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
    fs.writeFileSync(
      path.join(bin, tool),
      `#!/usr/bin/env bash\nexec ${java} -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto -Dlog4j.configuration=file:${log4j} -cp '${jars}/*' ${main} "$@"\n`,
      { mode: 0o755 },
    );
  }
  return bin;
}

beforeAll(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-acls-'));
  const saslPort = 28_692;
  broker = await startKafka({
    port: 28_592,
    exclusive: true,
    existingBrokers: '',
    dataDir: path.join(workDir, 'data'),
    logFile: path.join(workDir, 'kafka.log'),
    sasl: { port: saslPort, users: Object.fromEntries([...passwords].filter(([name]) => name !== SCRIPTED)) },
    authorizer: true,
    log: () => undefined,
  });
  saslBrokers = `127.0.0.1:${saslPort}`;
  // The harness (topics, the event probe) is the operators' side: the plaintext listener on
  // loopback, whose ANONYMOUS peer broker.properties makes a super user.
  process.env.KAFKA_BROKERS = broker.brokers;
  const asService = (app: App): Record<string, string> => ({
    KAFKA_BROKERS: saslBrokers,
    KAFKA_SASL_MECHANISM: 'scram-sha-256',
    KAFKA_SASL_USERNAME: app,
    KAFKA_SASL_PASSWORD: passwordOf(app),
  });
  system = new RunningSystem({
    label: 'acls',
    env: { 'site-saga': { ...asService('site-saga'), SAGA_TIME_SCALE: '0.2', LOG_LEVEL: process.env.ACL_E2E_LOG_LEVEL ?? 'info' }, sites: { ...asService('sites'), LOG_LEVEL: process.env.ACL_E2E_LOG_LEVEL ?? 'info' }, storage: asService('storage'), databases: asService('databases'), bootstrap: asService('bootstrap') },
  });
  await system.start({ apps: [], partitions: 1 });
  prefix = system.prefix;
  admin = new Kafka({ clientId: 'acl-e2e-admin', brokers: [broker.brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  probePrefix = `${prefix}probe.`;
  await admin.createTopics({ topics: ALL_TOPICS_WITH_DLQ.map((topic) => ({ topic: `${probePrefix}${topic}`, numPartitions: 1 })), waitForLeaders: true });
});

afterAll(async () => {
  await admin?.disconnect().catch(() => undefined);
  await system?.stop().catch(() => undefined);
  await broker?.stop();
  if (previousBrokers === undefined) delete process.env.KAFKA_BROKERS;
  else process.env.KAFKA_BROKERS = previousBrokers;
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

describe('the shipped Kafka ACLs on a broker with the authorizer on', () => {
  it('lets nobody without an ACL in: a principal with a password but no ACL reads and writes nothing', async () => {
    // storage has no SCRAM user and no ACL yet: its password is refused, and site-saga (a
    // user without ACLs so far) may not write its own events.
    expect(await produceAs(SCRIPTED, Topics.storageEvents)).toMatch(/SASL SCRAM SHA256 authentication failed/i);
    expect(await produceAs('site-saga', Topics.siteSagaEvents)).toMatch(/TOPIC_AUTHORIZATION_FAILED/);
  });

  it("makes, with the generated script and Kafka's own tools, exactly the principal's bindings of acls.json", async () => {
    const bin = kafkaToolShims(workDir);
    const { stdout, stderr } = await run('bash', [SCRIPT_FILE, SCRIPTED], {
      env: {
        PATH: process.env.PATH ?? '',
        ...(process.env.JAVA_HOME ? { JAVA_HOME: process.env.JAVA_HOME } : {}),
        KAFKA_BIN: bin,
        KAFKA_BOOTSTRAP: saslBrokers,
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKA_ADMIN_PASSWORD: passwordOf(spec.admin),
        [passwordVariable(SCRIPTED)]: passwordOf(SCRIPTED),
      },
      timeout: 180_000,
    });
    expect(stdout).toContain(`kafka-security: ${SCRIPTED}: SCRAM user and ACLs in place`);
    for (const secret of passwords.values()) expect(`${stdout}${stderr}`).not.toContain(secret);
    const wanted = aclBindings(spec, prefix).filter((binding) => binding.principal === `User:${SCRIPTED}`);
    expect(wanted.length).toBeGreaterThan(0);
    expect(await bindingsOnBroker(`User:${SCRIPTED}`)).toEqual(asText(wanted));
  });

  it('applies the rest of acls.json; each principal reads and writes what the table says, and is refused the rest', async () => {
    const rest = [...aclBindings(spec, prefix).filter((binding) => binding.principal !== `User:${SCRIPTED}`), ...aclBindings(spec, probePrefix)];
    await admin.createAcls({
      acl: rest.map((binding) => ({
        resourceType: RESOURCES[binding.resourceType],
        resourceName: binding.name,
        resourcePatternType: ResourcePatternTypes.LITERAL,
        principal: binding.principal,
        host: '*',
        operation: OPERATIONS[binding.operation],
        permissionType: AclPermissionTypes.ALLOW,
      })),
    });
    for (const principal of spec.principals) {
      const wanted = [...aclBindings(spec, prefix), ...aclBindings(spec, probePrefix)].filter((binding) => binding.principal === `User:${principal.name}`);
      expect(await bindingsOnBroker(`User:${principal.name}`)).toEqual(asText(wanted));
    }

    const refused = /TOPIC_AUTHORIZATION_FAILED/;
    // sites: writes its events (and the API's requests to the saga), reads its commands in its group.
    expect(await produceAs('sites', Topics.sitesEvents)).toBe('ok');
    expect(await produceAs('sites', Topics.siteSagaCommands)).toBe('ok');
    expect(await consumeAs('sites', Topics.sitesCommands, 'sites')).toBe('ok');
    // ...and nothing of another service: not a participant's commands, not another's events, not the saga's events.
    for (const topic of [Topics.databasesCommands, Topics.storageCommands, Topics.storageEvents, Topics.siteSagaEvents, Topics.sitesCommands]) {
      expect({ topic, answer: await produceAs('sites', topic) }).toEqual({ topic, answer: expect.stringMatching(refused) });
    }
    expect(await consumeAs('sites', Topics.databasesCommands, 'sites')).toMatch(refused);
    expect(await consumeAs('sites', Topics.sitesCommands, 'storage')).toMatch(/GROUP_AUTHORIZATION_FAILED/);
    // storage (whose user the script made) may not start or delete sites, nor answer for databases.
    expect(await produceAs(SCRIPTED, Topics.storageEvents)).toBe('ok');
    expect(await produceAs(SCRIPTED, Topics.siteSagaCommands)).toMatch(refused);
    expect(await produceAs(SCRIPTED, Topics.databasesEvents)).toMatch(refused);
    // The CLI writes site-saga.commands only; the topic job writes nothing.
    expect(await produceAs('sitesaga-cli', Topics.siteSagaCommands)).toBe('ok');
    expect(await produceAs('sitesaga-cli', Topics.databasesCommands)).toMatch(refused);
    expect(await produceAs('sitesaga-topics', Topics.siteSagaCommands)).toMatch(refused);
    // A wrong password gets nowhere.
    const wrong = clientAs('sites', password()).producer({ retry: { retries: 0 } });
    await expect(wrong.connect()).rejects.toThrow(/SASL SCRAM SHA256 authentication failed/i);
  });

  it('completes a create-site saga with every service logged in as its own principal', async () => {
    for (const batch of [['sites', 'storage'], ['databases', 'bootstrap'], ['site-saga']] as App[][]) {
      await Promise.all(batch.map((app) => system.restart(app)));
    }
    // The operators' CLI sends the command, logged in as its own principal.
    const name = `acl-${randomBytes(4).toString('hex')}`;
    const { stdout } = await run(process.execPath, [path.join(__dirname, '..', '..', 'apps', 'cli', 'dist', 'main.js'), 'create-site', '--name', name, '--domain', `${name}.example.com`, '--admin-email', 'owner@example.com', '--json'], {
      env: {
        PATH: process.env.PATH ?? '',
        KAFKA_BROKERS: saslBrokers,
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKA_SASL_MECHANISM: 'scram-sha-256',
        KAFKA_SASL_USERNAME: 'sitesaga-cli',
        KAFKA_SASL_PASSWORD: passwordOf('sitesaga-cli'),
        NO_COLOR: '1',
      },
      timeout: 60_000,
    });
    const siteId = (JSON.parse(stdout) as { sagaId: string }).sagaId;
    const outcome = await system.waitForOutcome(siteId, [SiteCreated, SiteCreationFailed], '120s').catch(async (error: unknown) => {
      // Where the saga stopped: every topic's end offset and every group's committed offsets.
      const topics = await Promise.all(
        Object.values(Topics).map(async (topic) => `${topic}=${(await admin.fetchTopicOffsets(`${prefix}${topic}`)).map((partition) => partition.high).join('/')}`),
      );
      const groups = await Promise.all(
        (['site-saga', 'sites', 'storage', 'databases', 'bootstrap'] as const).map(async (app) => {
          const offsets = await admin.fetchOffsets({ groupId: `${prefix}${app}` }).catch((failure: unknown) => errorText(failure));
          return `${app}: ${typeof offsets === 'string' ? offsets : offsets.map((topic) => `${topic.topic.slice(prefix.length)}@${topic.partitions.map((partition) => partition.offset).join('/')}`).join(' ')}`;
        }),
      );
      const outboxes = await Promise.all(
        (['site-saga', 'sites', 'storage', 'databases', 'bootstrap'] as const).map(async (app) => {
          const rows = await system
            .query<{ type: string; sent: boolean; count: string }>(`SELECT type, sent_at IS NOT NULL AS sent, count(*) FROM outbox_messages GROUP BY 1, 2 ORDER BY 1, 2`, [], system.serviceDatabase(app))
            .catch((failure: unknown) => [{ type: errorText(failure), sent: false, count: '?' }]);
          return `${app}: ${rows.map((row) => `${row.type}${row.sent ? '' : ' (unsent)'}×${row.count}`).join(', ')}`;
        }),
      );
      throw new Error(`${String(error)}\ntopics: ${topics.join(' ')}\ngroups: ${groups.join('; ')}\noutboxes: ${outboxes.join('; ')}`);
    });
    expect(outcome.type).toBe('SiteCreated');
    // No service was refused anything on the way (a refusal would dead-letter or park).
    for (const app of ['site-saga', 'sites', 'storage', 'databases', 'bootstrap'] as App[]) {
      expect({ app, refused: /AUTHORIZATION_FAILED|authentication failed/i.test(system.service(app).output()) }).toEqual({ app, refused: false });
    }
  });
});
