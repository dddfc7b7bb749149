/**
 * A local single-node Apache Kafka (KRaft) from Maven Central jars, in a JVM of its own.
 *
 *   startKafka({ port: 19092 })  -> { brokers: '127.0.0.1:19092', stop() }
 *   ensureTopics(brokers)        -> every topic of libs/contracts/src/topics.ts, with its .dlq
 *
 * Used by scripts/start-local.ts (port 9092) and the jest global setup (port 19092).
 * Jars: infra/kafka/pom.xml copies them once into ${KAFKA_CACHE_DIR:-~/.cache/site-saga/kafka-<version>}.
 * State: .local/kafka/<port>/{data,kafka.log,server.properties,kafka.pid,owner.pid} in the repository.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel, type Admin, type ITopicMetadata } from 'kafkajs';
import { ALL_TOPICS_WITH_DLQ } from '../../libs/contracts/src/topics';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const DEFAULT_KAFKA_VERSION = '3.9.1';

export interface StartKafkaOptions {
  /** Apache Kafka version from Maven Central (3.x or 4.x). Default: KAFKA_VERSION or 3.9.1. */
  version?: string;
  /** PLAINTEXT listener port. Default 9092. */
  port?: number;
  /**
   * A broker of our own, never one another live process started or uses. When `port` is
   * taken, the next free pair (port + 2, + 4, ...) is used: concurrent test runs on one
   * machine each get their own broker, and one run's teardown cannot stop another's.
   * Default false: a broker that answers on `port` is reused (npm start).
   */
  exclusive?: boolean;
  /** KRaft controller listener port. Default port + 1. */
  controllerPort?: number;
  /** Log directory (topic data). Default .local/kafka/<port>/data. */
  dataDir?: string;
  /** Where the broker's stdout and stderr go. Default .local/kafka/<port>/kafka.log. */
  logFile?: string;
  /** How long to wait for the broker to answer. Default 120 s (cold JVM on 2 cores). */
  startTimeoutMs?: number;
  /** Brokers to reuse when they answer. Default KAFKA_BROKERS. */
  existingBrokers?: string;
  /** Progress lines; default console.log. */
  log?: (line: string) => void;
  /**
   * A second listener, SASL_PLAINTEXT with SCRAM-SHA-256, on `port`, for these users
   * (name → password, written into the storage at format time: a fresh `dataDir`).
   */
  sasl?: { readonly port: number; readonly users: Readonly<Record<string, string>> };
  /**
   * The authorizer of the compose broker: the lines between "authorization" markers of
   * infra/kafka/broker.properties (StandardAuthorizer, nothing allowed without an ACL, super
   * users admin and ANONYMOUS — here the plaintext listener on loopback). Needs `sasl`, with
   * a password for `admin` among its users so that principal can log in.
   */
  authorizer?: boolean;
}

/** The authorization lines of infra/kafka/broker.properties, the compose broker's configuration. */
export function brokerAuthorizationProperties(file = path.join(REPO_ROOT, 'infra', 'kafka', 'broker.properties')): string {
  const text = fs.readFileSync(file, 'utf8');
  const start = text.indexOf('# ---- authorization');
  const end = text.indexOf('# ---- end of authorization');
  if (start < 0 || end < start) throw new Error(`${file} has no "# ---- authorization" … "# ---- end of authorization" block`);
  return text
    .slice(start, end)
    .split('\n')
    .filter((line) => /^[a-z]/.test(line))
    .join('\n');
}

export interface KafkaBroker {
  /** Comma-separated bootstrap servers, the KAFKA_BROKERS format. */
  brokers: string;
  /** False when a broker someone else runs was reused: stop() then does nothing. */
  startedHere: boolean;
  logFile?: string;
  stop(): Promise<void>;
}

export async function startKafka(options: StartKafkaOptions = {}): Promise<KafkaBroker> {
  const log = options.log ?? ((line: string) => console.log(`[kafka] ${line}`));
  const existing = options.existingBrokers ?? process.env.KAFKA_BROKERS;
  if (existing && (await brokersAnswer(existing))) {
    log(`reusing the broker that answers on ${existing}`);
    return { brokers: existing, startedHere: false, stop: async () => undefined };
  }
  if (existing && !portOfLocalBrokers(existing)) {
    throw new Error(`KAFKA_BROKERS=${existing} does not answer, and it is not one local address a broker could be started on.`);
  }

  const basePort = options.port ?? portOfLocalBrokers(existing) ?? 9092;
  const attempts = options.exclusive ? 20 : 1;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const port = basePort + attempt * 2;
    const controllerPort = attempt === 0 && options.controllerPort ? options.controllerPort : port + 1;
    const brokers = `127.0.0.1:${port}`;
    const home = path.join(REPO_ROOT, '.local', 'kafka', String(port));
    const claim = await claimPort(home, port, controllerPort, log);
    switch (claim.kind) {
      case 'start':
        try {
          return await launch({ ...options, port, controllerPort, brokers, home, log }, claim.release);
        } catch (error) {
          // Free when claimed, taken by the time the JVM binds (another process's ephemeral
          // port, on a busy machine): a broker of our own moves to the next pair.
          if (!options.exclusive || !/Address already in use/.test(String(error))) throw error;
          log(`port ${port} or ${controllerPort} was taken while the broker started; trying the next pair`);
          continue;
        }
      case 'adopt': {
        log(`adopting the broker a finished run left on ${brokers} (pid ${claim.pid})`);
        const stop = once(async () => {
          await stopPid(claim.pid);
          fs.rmSync(path.join(home, 'kafka.pid'), { force: true });
          claim.release();
        });
        return { brokers, startedHere: true, logFile: path.join(home, 'kafka.log'), stop };
      }
      case 'answers':
        if (options.exclusive) continue;
        log(`reusing the broker that answers on ${brokers}`);
        return { brokers, startedHere: false, stop: async () => undefined };
      case 'starting':
        if (options.exclusive) continue;
        // Another `npm start` is bringing it up: wait, then share it.
        log(`another process (pid ${claim.ownerPid}) is starting the broker on ${brokers}; waiting for it`);
        await waitUntilAnswers(brokers, options.startTimeoutMs ?? 120_000, `the broker pid ${claim.ownerPid} is starting on ${brokers}`, path.join(home, 'kafka.log'));
        return { brokers, startedHere: false, stop: async () => undefined };
      case 'taken':
        if (options.exclusive) continue;
        throw new Error(`port ${port} or ${controllerPort} is taken by something that is not a Kafka broker answering on ${brokers}; set KAFKA_PORT or KAFKA_BROKERS`);
    }
  }
  throw new Error(`no free port pair for a Kafka broker from ${basePort} to ${basePort + attempts * 2 - 1}`);
}

interface LaunchOptions extends StartKafkaOptions {
  port: number;
  controllerPort: number;
  brokers: string;
  home: string;
  log: (line: string) => void;
}

async function launch(options: LaunchOptions, releasePort: () => void): Promise<KafkaBroker> {
  const { port, controllerPort, brokers, home, log } = options;
  const version = options.version ?? process.env.KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION;
  const dataDir = path.resolve(options.dataDir ?? path.join(home, 'data'));
  const logFile = path.resolve(options.logFile ?? path.join(home, 'kafka.log'));
  const pidFile = path.join(home, 'kafka.pid');
  const propsFile = path.join(home, 'server.properties');
  fs.mkdirSync(path.dirname(logFile), { recursive: true });

  let child: ChildProcess | undefined;
  try {
    const jars = fetchKafkaJars(version, log);
    const major = Number.parseInt(version, 10);

    // Data formatted by another version may not start (4.x metadata cannot go back to 3.x):
    // this is a throwaway local broker, so start over and let ensureTopics recreate the topics.
    const versionFile = path.join(home, 'data.version');
    const dataVersion = fs.existsSync(versionFile) ? fs.readFileSync(versionFile, 'utf8').trim() : undefined;
    if (dataVersion !== undefined && dataVersion !== version && fs.existsSync(dataDir)) {
      log(`data in ${dataDir} was written by Kafka ${dataVersion}; wiping it for ${version}`);
      fs.rmSync(dataDir, { recursive: true, force: true });
    }

    if (options.authorizer && !options.sasl) throw new Error('startKafka: authorizer needs sasl (the principals must log in)');
    fs.writeFileSync(propsFile, serverProperties({ port, controllerPort, dataDir, saslPort: options.sasl?.port, authorizer: options.authorizer === true }));
    const loggingArgs = writeLoggingConfig(home, major);
    const javaArgs = [...jvmOptions(), ...loggingArgs, '-cp', path.join(jars, '*')];

    if (!fs.existsSync(path.join(dataDir, 'meta.properties'))) {
      fs.rmSync(dataDir, { recursive: true, force: true });
      formatStorage(javaArgs, propsFile, major, logFile, options.sasl?.users);
      fs.writeFileSync(versionFile, `${version}\n`);
    }

    const out = fs.openSync(logFile, 'a');
    fs.writeSync(out, `\n==== ${new Date().toISOString()} starting Kafka ${version} on ${brokers} ====\n`);
    // detached: its own process group, so a Ctrl-C in the terminal reaches the services
    // first and the broker is stopped after them, by stop().
    child = spawn(javaBinary(), [...javaArgs, 'kafka.Kafka', propsFile], {
      cwd: home,
      detached: true,
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start java for Kafka; see ${logFile}`);
    fs.writeFileSync(pidFile, `${child.pid}\n`);
    log(`Kafka ${version} starting on ${brokers} (pid ${child.pid}, log ${path.relative(process.cwd(), logFile) || logFile})`);
  } catch (error) {
    releasePort();
    throw error;
  }

  const started = child;
  const stop = once(async () => {
    await stopChild(started);
    fs.rmSync(pidFile, { force: true });
    releasePort();
  });
  try {
    await waitUntilReady(brokers, started, options.startTimeoutMs ?? 120_000, logFile);
  } catch (error) {
    await stop();
    throw error;
  }
  return { brokers, startedHere: true, logFile, stop };
}

// ---- who owns a port ------------------------------------------------------------------
//
// .local/kafka/<port>/owner.pid names the live process that started (or is starting) the
// broker there; kafka.pid names the broker's JVM. A broker whose owner died (kill -9 of a
// test run) is an orphan: the next run adopts it if it answers, else stops it.

type PortClaim =
  | { kind: 'start'; release: () => void }
  | { kind: 'adopt'; pid: number; release: () => void }
  | { kind: 'answers' }
  | { kind: 'starting'; ownerPid: number }
  | { kind: 'taken' };

async function claimPort(home: string, port: number, controllerPort: number, log: (line: string) => void): Promise<PortClaim> {
  fs.mkdirSync(home, { recursive: true });
  const lockFile = path.join(home, 'owner.pid');
  const owner = acquireLock(lockFile);
  const brokers = `127.0.0.1:${port}`;
  if (owner !== 'acquired') return (await brokersAnswer(brokers)) ? { kind: 'answers' } : { kind: 'starting', ownerPid: owner };

  const releaseOnExit = () => releaseLock(lockFile);
  process.once('exit', releaseOnExit);
  const release = () => {
    process.removeListener('exit', releaseOnExit);
    releaseLock(lockFile);
  };
  const brokerPid = ourBroker(home);
  if (brokerPid !== undefined && !isOrphan(brokerPid)) {
    // A live process runs it without a lock (an older copy of this script): leave it be.
    release();
    return (await brokersAnswer(brokers)) ? { kind: 'answers' } : { kind: 'starting', ownerPid: parentOf(brokerPid) ?? brokerPid };
  }
  if (await brokersAnswer(brokers)) {
    if (brokerPid !== undefined) return { kind: 'adopt', pid: brokerPid, release };
    release();
    return { kind: 'answers' };
  }
  if (brokerPid !== undefined) {
    log(`stopping an orphaned Kafka (pid ${brokerPid}) that holds ${home} but does not answer`);
    await stopPid(brokerPid);
  }
  if ((await portIsTaken(port)) || (await portIsTaken(controllerPort))) {
    release();
    return { kind: 'taken' };
  }
  return { kind: 'start', release };
}

/** 'acquired', or the pid of the live process that holds the lock. */
function acquireLock(lockFile: string): 'acquired' | number {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    try {
      fs.writeFileSync(lockFile, `${process.pid}\n`, { flag: 'wx' });
      return 'acquired';
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(fs.readFileSync(lockFile, 'utf8').trim());
    // Empty: its holder is between creating and writing it.
    if (!Number.isInteger(holder) || holder <= 0) return 0;
    if (holder !== process.pid && isAlive(holder)) return holder;
    fs.rmSync(lockFile, { force: true }); // its holder is gone
  }
  return 0;
}

function releaseLock(lockFile: string): void {
  try {
    if (Number(fs.readFileSync(lockFile, 'utf8').trim()) === process.pid) fs.rmSync(lockFile, { force: true });
  } catch {
    // already gone
  }
}

/** The pid in kafka.pid when it is alive and is our broker for this directory. */
function ourBroker(home: string): number | undefined {
  const pidFile = path.join(home, 'kafka.pid');
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  try {
    const commandLine = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return commandLine.includes('kafka.Kafka') && commandLine.includes(home) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True when no node process is the broker's parent any more (it was re-parented). */
function isOrphan(pid: number): boolean {
  const parent = parentOf(pid);
  if (parent === undefined || parent <= 1) return true;
  try {
    return !fs.readFileSync(`/proc/${parent}/cmdline`, 'utf8').includes('node');
  } catch {
    return true;
  }
}

function parentOf(pid: number): number | undefined {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid ...", and comm may hold spaces.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

export interface EnsureTopicsOptions {
  partitions?: number;
  replicationFactor?: number;
  topics?: readonly string[];
  timeoutMs?: number;
}

/**
 * Creates every topic the system needs (each with its .dlq) when missing, grows the
 * partition count when it is below the wanted one, and waits until each partition has a
 * leader. Idempotent: safe on every start and from several processes at once.
 */
export async function ensureTopics(brokers: string | readonly string[], options: EnsureTopicsOptions = {}): Promise<void> {
  const partitions = options.partitions ?? Number(process.env.KAFKA_PARTITIONS ?? 6);
  const replicationFactor = options.replicationFactor ?? 1;
  const topics = [...(options.topics ?? ALL_TOPICS_WITH_DLQ)];
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const admin = adminFor(brokers);
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      try {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor })),
        });
      } catch (error) {
        // Another process may have created some of them in between: the check below decides.
        if (!isTopicAlreadyExists(error)) throw error;
      }
    }
    let metadata: ITopicMetadata[] = [];
    for (;;) {
      try {
        metadata = (await admin.fetchTopicMetadata({ topics })).topics;
        const ready = metadata.length === topics.length && metadata.every((topic) => topic.partitions.length > 0 && topic.partitions.every((partition) => partition.leader >= 0));
        if (ready) break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
      if (Date.now() > deadline) throw new Error(`topics have no leaders after ${options.timeoutMs ?? 60_000} ms: ${topics.join(', ')}`);
      await sleep(200);
    }
    const tooSmall = metadata.filter((topic) => topic.partitions.length < partitions);
    if (tooSmall.length > 0) {
      await admin.createPartitions({ topicPartitions: tooSmall.map((topic) => ({ topic: topic.name, count: partitions })) });
    }
  } finally {
    await admin.disconnect();
  }
}

/** True when a broker at `brokers` answers a metadata request within about a second. */
export async function brokersAnswer(brokers: string | readonly string[], timeoutMs = 1500): Promise<boolean> {
  const admin = adminFor(brokers, timeoutMs);
  try {
    await withTimeout(
      (async () => {
        await admin.connect();
        await admin.describeCluster();
      })(),
      timeoutMs,
    );
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

// ---- jars ---------------------------------------------------------------------------

/** Directory holding Kafka's jars, downloaded by Maven on first use only. */
export function kafkaCacheDir(version: string): string {
  return process.env.KAFKA_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'site-saga', `kafka-${version}`);
}

export function fetchKafkaJars(version: string, log: (line: string) => void = console.log): string {
  const dir = kafkaCacheDir(version);
  const marker = path.join(dir, '.complete');
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8').trim() === version) return dir;

  const major = Number.parseInt(version, 10);
  // Into a fresh temporary directory, then one rename: an interrupted download never
  // looks complete, and two processes fetching at once do not mix their files.
  const staging = `${dir}.tmp-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  log(`downloading Kafka ${version} jars from Maven Central into ${dir} (once)`);
  const args = [
    '-B',
    '-q',
    '-Dstyle.color=never',
    '-f',
    path.join(REPO_ROOT, 'infra', 'kafka', 'pom.xml'),
    'dependency:copy-dependencies',
    `-Dkafka.version=${version}`,
    `-Dkafka.cache.dir=${staging}`,
    // Kafka 4 logs through log4j2; 3.x through log4j 1 (reload4j), the pom's default profile.
    ...(major >= 4 ? ['-Plog4j2'] : []),
  ];
  const result = spawnSync(process.env.MAVEN ?? 'mvn', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.error || result.status !== 0) {
    fs.rmSync(staging, { recursive: true, force: true });
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
    throw new Error(
      result.error
        ? `could not run Maven (mvn) to fetch Kafka ${version}: ${result.error.message}. Install Maven, or set MAVEN to its path.`
        : `Maven could not fetch Kafka ${version} (exit ${result.status}):\n${output.slice(-4000)}`,
    );
  }
  if (!fs.readdirSync(staging).some((file) => file.startsWith('kafka_'))) {
    throw new Error(`Maven finished but ${staging} has no kafka_*.jar`);
  }
  fs.writeFileSync(path.join(staging, '.complete'), `${version}\n`);
  fs.rmSync(dir, { recursive: true, force: true });
  try {
    fs.renameSync(staging, dir);
  } catch (error) {
    // Someone else finished first: theirs is as good as ours.
    fs.rmSync(staging, { recursive: true, force: true });
    if (!fs.existsSync(marker)) throw error;
  }
  return dir;
}

// ---- broker configuration -----------------------------------------------------------

function serverProperties({ port, controllerPort, dataDir, saslPort, authorizer }: { port: number; controllerPort: number; dataDir: string; saslPort?: number; authorizer: boolean }): string {
  const sasl = saslPort === undefined ? '' : `,SASL_PLAINTEXT://127.0.0.1:${saslPort}`;
  return `# Written by scripts/local/kafka-broker.ts on every start; edits are lost.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controllerPort}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}${sasl}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}${sasl}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT${
    saslPort === undefined
      ? ''
      : `
sasl.enabled.mechanisms=SCRAM-SHA-256
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;`
  }${authorizer ? `\n# From infra/kafka/broker.properties:\n${brokerAuthorizationProperties()}` : ''}
log.dirs=${dataDir}
# Topics come from libs/contracts/src/topics.ts only: a typo must fail, not create a topic.
auto.create.topics.enable=false
num.partitions=6
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
# Fewer internal partitions than the default 50: the first consumer group is ready sooner.
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=72
log.segment.bytes=67108864
`;
}

/** Small heap, serial GC and C1 only: a dev broker that starts fast on 2 cores. */
function jvmOptions(): string[] {
  const extra = process.env.KAFKA_JVM_OPTS?.split(/\s+/).filter(Boolean) ?? [];
  return [
    '-Xms128m',
    '-Xmx512m',
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-XX:-UsePerfData',
    '-Djava.awt.headless=true',
    '-Dzookeeper.jmx.log4j.disable=true',
    ...extra,
  ];
}

/** Console logging at INFO for the broker, quieter for its chattiest loggers. */
function writeLoggingConfig(home: string, major: number): string[] {
  if (major >= 4) {
    const file = path.join(home, 'log4j2.properties');
    fs.writeFileSync(
      file,
      `status = warn
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.stdout.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = warn
logger.state.name = state.change.logger
logger.state.level = warn
logger.clients.name = org.apache.kafka.clients
logger.clients.level = warn
`,
    );
    return [`-Dlog4j2.configurationFile=file:${file}`];
  }
  const file = path.join(home, 'log4j.properties');
  fs.writeFileSync(
    file,
    `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
`,
  );
  return [`-Dlog4j.configuration=file:${file}`];
}

function formatStorage(javaArgs: string[], propsFile: string, major: number, logFile: string, scramUsers: Readonly<Record<string, string>> = {}): void {
  const clusterId = randomBytes(16).toString('base64url');
  const scram = Object.entries(scramUsers).flatMap(([name, password]) => ['--add-scram', `SCRAM-SHA-256=[name=${name},password=${password}]`]);
  const run = (extra: string[]) =>
    spawnSync(javaBinary(), [...javaArgs, 'kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, '-c', propsFile, '--ignore-formatted', ...scram, ...extra], {
      encoding: 'utf8',
    });
  let result = run([]);
  // With a static controller.quorum.voters both 3.9 and 4.x format as is; should a 4.x
  // release insist on a dynamic quorum, it names --standalone and we say so.
  if (result.status !== 0 && major >= 4 && /standalone/i.test(`${result.stdout}${result.stderr}`)) {
    result = run(['--standalone']);
  }
  fs.appendFileSync(logFile, `\n==== ${new Date().toISOString()} kafka-storage format ====\n${result.stdout ?? ''}${result.stderr ?? ''}`);
  if (result.error || result.status !== 0) {
    throw new Error(`formatting Kafka storage failed (exit ${result.status}): ${(result.error?.message ?? `${result.stdout}${result.stderr}`).trim().slice(-2000)}`);
  }
}

function javaBinary(): string {
  return process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

// ---- process lifecycle ----------------------------------------------------------------

async function waitUntilReady(brokers: string, child: ChildProcess, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`Kafka exited during start (${child.exitCode ?? child.signalCode}); see ${logFile}:\n${tail(logFile, 25)}`);
    }
    if (await brokersAnswer(brokers)) return;
    if (Date.now() > deadline) {
      throw new Error(`Kafka did not answer on ${brokers} within ${Math.round(timeoutMs / 1000)} s; see ${logFile}:\n${tail(logFile, 25)}`);
    }
    await sleep(250);
  }
}

async function waitUntilAnswers(brokers: string, timeoutMs: number, what: string, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await brokersAnswer(brokers))) {
    if (Date.now() > deadline) throw new Error(`${what}, but it did not answer within ${Math.round(timeoutMs / 1000)} s; see ${logFile}`);
    await sleep(500);
  }
}

/** SIGTERM (Kafka shuts down cleanly on it), SIGKILL after 20 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  child.ref(); // keep the event loop alive until it is gone
  child.kill('SIGTERM');
  const graceful = await withTimeout(exited, 20_000).then(
    () => true,
    () => false,
  );
  if (!graceful) {
    child.kill('SIGKILL');
    await exited;
  }
}

/** The same for a broker that is not our child (adopted or orphaned). */
async function stopPid(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 20_000;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(100);
}

function portIsTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// ---- small pieces ---------------------------------------------------------------------

function adminFor(brokers: string | readonly string[], connectionTimeout = 3000): Admin {
  const list = typeof brokers === 'string' ? brokers.split(',').map((broker) => broker.trim()).filter(Boolean) : [...brokers];
  return new Kafka({
    clientId: 'site-saga-local',
    brokers: list,
    logLevel: logLevel.NOTHING,
    connectionTimeout,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
  }).admin();
}

/** The port when `brokers` is exactly one loopback address, so a broker may be started there. */
function portOfLocalBrokers(brokers: string | undefined): number | undefined {
  if (!brokers) return undefined;
  const match = /^(?:127\.0\.0\.1|localhost):(\d+)$/.exec(brokers.trim());
  return match?.[1] ? Number(match[1]) : undefined;
}

function isTopicAlreadyExists(error: unknown): boolean {
  const text = `${(error as { type?: string }).type ?? ''} ${String(error)} ${JSON.stringify((error as { errors?: unknown }).errors ?? '')}`;
  return /TOPIC_ALREADY_EXISTS|already exists/i.test(text);
}

function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

// `tsx scripts/local/kafka-broker.ts` runs a broker in the foreground until Ctrl-C.
if (require.main === module) {
  void (async () => {
    const broker = await startKafka({ port: process.env.KAFKA_PORT ? Number(process.env.KAFKA_PORT) : undefined });
    await ensureTopics(broker.brokers);
    console.log(`[kafka] ready: KAFKA_BROKERS=${broker.brokers} (Ctrl-C stops it)`);
    const shutdown = () => void broker.stop().then(() => process.exit(0));
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
    if (!broker.startedHere) process.exit(0);
  })().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
