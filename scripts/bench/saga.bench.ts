/**
 * End-to-end create-site benchmark. Prints latency p50/p99 (CreateSite sent → SiteCreated
 * seen) and sites per second; asserts nothing.
 *
 *   pnpm bench:saga                       100 sites, 10 in flight, the five real services
 *   pnpm bench:saga -- --stub             1000 sagas, 10 in flight, the orchestrator alone with
 *                                         stub participants answering at once over the same Kafka
 *   options: --sites N --concurrency N
 *            --history N   first seeds N finished sagas (steps, history, inbox rows) into the
 *                     orchestrator's database: does a saga cost the same with a long past?
 *            --json   also print one machine-readable line (`SAGA_BENCH {...}`), read by
 *                     `pnpm bench:compare` (scripts/bench/compare.ts)
 *   BENCH_HOPS=1 (with --stub): prints where a hop's time goes, from per-message timestamps
 *                the orchestrator records (MESSAGING_HOP_TIMING_FILE) and the stubs' own
 *                (p50, p90, p99 and mean per leg); BENCH_KEEP_HOPS=1 keeps the timing file
 *   BENCH_REPLICAS=N   runs N processes of each app (one consumer group)
 *   BENCH_WARMUP=N     sites created first and not counted (default 4, as ../shared/limits);
 *                      then the spare database pool is let fill and a CHECKPOINT taken
 *
 * Uses KAFKA_BROKERS and DATABASE_URL when they answer, else starts the local ones.
 * Services must be built (pnpm build).
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  ActivateSite,
  BootstrapSite,
  causedBy,
  CreateSite,
  definitionOf,
  type Envelope,
  ProvisionDatabase,
  ProvisionStorage,
  ReserveSite,
  Topics,
} from '@sitesaga/contracts';
import { cpuByPart, cpuMs, cpuTicks, machineBusyMs, peakRssMb, processCpuSnapshot, rssMb } from '../../test/support/process-cpu';
import { RunningSystem } from '../../test/support/system';
import { withLocalInfrastructure } from './local-infrastructure';
import { seedSagas } from './seed-sagas';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    stub: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    sites: { type: 'string' },
    concurrency: { type: 'string', default: '10' },
    history: { type: 'string', default: '0' },
  },
});
const stub = values.stub ?? false;
const total = Number(values.sites ?? (stub ? 1000 : 100));
const concurrency = Number(values.concurrency);

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** Answers every participant command at once with its success event: the orchestration's own cost. */
function stubReply(command: Envelope): Envelope | null {
  const p = command.payload as { siteId: string; name?: string; domain?: string };
  const cause = causedBy(command);
  switch (command.type) {
    case ReserveSite.type:
      return ReserveSite.succeeded.create({ siteId: p.siteId, name: p.name!, domain: p.domain! }, cause);
    case ProvisionStorage.type:
      return ProvisionStorage.succeeded.create({ siteId: p.siteId, path: `/stub/${p.siteId}` }, cause);
    case ProvisionDatabase.type:
      return ProvisionDatabase.succeeded.create({ siteId: p.siteId, databaseName: 'stub', roleName: 'stub', credentials: 'v1.aaaa.bbbb.cccc' }, cause);
    case BootstrapSite.type:
      return BootstrapSite.succeeded.create({ siteId: p.siteId, adminUser: 'admin' }, cause);
    case ActivateSite.type:
      return ActivateSite.succeeded.create({ siteId: p.siteId, url: `https://${p.siteId}.example.com` }, cause);
    default:
      return null;
  }
}

/** What the stubs saw of each command: broker timestamp, receipt, and the reply's acknowledgement. */
interface StubHop {
  readonly command: string;
  readonly reply: string;
  readonly kts: number;
  readonly recv: number;
  readonly ack: number;
}

const median = (values: number[]): number =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);

/**
 * Joins the orchestrator's timing lines with the stubs' and prints, per stage of a hop,
 * its median and mean over every hop of the run (all clocks are this machine's).
 */
function printHops(file: string, stubHops: readonly StubHop[]): void {
  type Line =
    | { ev: 'uow'; cause?: string; out: string[]; t0: number; tw: number; tc: number }
    | { ev: 'pub'; ids: string[]; readStart: number; readDone: number; ack: number }
    | { ev: 'recv'; id: string; kts: number; recv: number; done: number };
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Line);
  const committedBy = new Map<string, Extract<Line, { ev: 'uow' }>>();
  const uowOf = new Map<string, Extract<Line, { ev: 'uow' }>>();
  const published = new Map<string, Extract<Line, { ev: 'pub' }>>();
  const received = new Map<string, Extract<Line, { ev: 'recv' }>>();
  for (const line of lines) {
    if (line.ev === 'uow') {
      for (const id of line.out) committedBy.set(id, line);
      if (line.cause) uowOf.set(line.cause, line);
    } else if (line.ev === 'pub') for (const id of line.ids) published.set(id, line);
    else received.set(line.id, line);
  }
  const stages: [string, number[]][] = [
    ['site-saga commit -> relay starts reading', []],
    ['relay SELECT', []],
    ['relay produce (send -> ack)', []],
    ['relay ack -> stub receives', []],
    ['stub: receive -> reply acked', []],
    ['stub ack -> site-saga receives', []],
    ['site-saga receive -> unit of work starts', []],
    ['unit of work: connect+BEGIN+inbox+handler', []],
    ['unit of work: outbox INSERT+COMMIT', []],
    ['whole hop (commit -> next commit)', []],
    ['relay batch size', []],
  ];
  const add = (index: number, value: number): void => void stages[index]![1].push(value);
  for (const hop of stubHops) {
    const commit = committedBy.get(hop.command);
    const pub = published.get(hop.command);
    const recv = received.get(hop.reply);
    const uow = uowOf.get(hop.reply);
    if (!commit || !pub || !recv || !uow) continue;
    add(0, pub.readStart - commit.tc);
    add(1, pub.readDone - pub.readStart);
    add(2, pub.ack - pub.readDone);
    add(3, hop.recv - pub.ack);
    add(4, hop.ack - hop.recv);
    add(5, recv.recv - hop.ack);
    add(6, uow.t0 - recv.recv);
    add(7, uow.tw - uow.t0);
    add(8, uow.tc - uow.tw);
    add(9, uow.tc - commit.tc);
    add(10, pub.ids.length);
  }
  console.log(`per hop (site-saga command -> stub -> reply handled), ${stages[0]![1].length} hops:`);
  for (const [name, values] of stages)
  {
    const sorted = [...values].sort((a, b) => a - b);
    const at = (p: number): string => percentile(sorted, p).toFixed(1).padStart(6);
    console.log(`  ${name.padEnd(44)} p50 ${median(values).toFixed(1).padStart(6)}  p90 ${at(90)}  p99 ${at(99)}  mean ${mean(values).toFixed(1).padStart(6)}`);
  }
}

/** The spare database pool's figures from the databases service's /metrics (NaN when it has no pool). */
async function sparePool(url: string): Promise<{ claims: number; misses: number; spares: number; size: number }> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  const value = (name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return {
    claims: value('site_database_pool_claims_total'),
    misses: value('site_database_pool_misses_total'),
    spares: value('site_database_pool_spares'),
    size: value('site_database_pool_size'),
  };
}

/** Waits until the spare pool holds as many spares as its size (or the deadline passes: said, not fatal). */
async function sparePoolFilled(url: string, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const { spares, size } = await sparePool(url);
    if (!(spares < size)) return; // full, or no pool (NaN)
    if (Date.now() > until) {
      console.error(`spare database pool: ${spares} of ${size} spares after ${deadlineMs / 1000} s; measuring anyway`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function main(): Promise<void> {
  const hopsFile = process.env.BENCH_HOPS && stub ? join(tmpdir(), `bench-hops-${process.pid}.jsonl`) : null;
  const stubHops: StubHop[] = [];
  const system = new RunningSystem({
    label: stub ? 'bench-stub' : 'bench',
    // The driver is a client: it sends CreateSite and waits for the outcome, nothing more.
    observe: 'outcomes',
    env: {
      'site-saga': {
        LOG_LEVEL: 'warn',
        ...(hopsFile ? { MESSAGING_HOP_TIMING_FILE: hopsFile } : {}),
        ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}),
      },
      sites: { LOG_LEVEL: 'warn' },
      storage: { LOG_LEVEL: 'warn' },
      databases: { LOG_LEVEL: 'warn' },
      bootstrap: { LOG_LEVEL: 'warn' },
    },
  });
  const apps = stub ? (['site-saga'] as const) : undefined;
  await system.start({ apps: apps ? [...apps] : undefined, partitions: 6, replicas: Number(process.env.BENCH_REPLICAS ?? 1) });
  const history = Number(values.history ?? 0);
  if (history > 0) {
    const database = new URL(system.serverUrl);
    database.pathname = `/${system.serviceDatabase('site-saga')}`;
    await seedSagas(database.toString(), history, (line) => console.error(line));
    console.log(`history: ${history} finished sagas seeded before the run`);
  }

  const stubs: (() => Promise<void>)[] = [];
  if (stub) {
    const producer = system.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const consumer = system.kafka.consumer({ groupId: `${system.prefix}stub-participants`, allowAutoTopicCreation: false, maxWaitTimeInMs: 50 });
    await consumer.connect();
    await consumer.subscribe({
      topics: [Topics.sitesCommands, Topics.storageCommands, Topics.databasesCommands, Topics.bootstrapCommands].map((topic) => system.wireTopic(topic)),
      fromBeginning: true,
    });
    await consumer.run({
      // Offsets committed twice a second, as the services' own consumers do, not one
      // OffsetCommit request per fetched batch (kafkajs's default).
      autoCommitInterval: 500,
      partitionsConsumedConcurrently: 6,
      eachBatch: async ({ batch, resolveOffset }) => {
        const recv = Date.now();
        const commands = batch.messages.map((message) => ({ message, command: JSON.parse(message.value!.toString()) as Envelope }));
        const answered = commands.map(({ message, command }) => ({ message, command, reply: stubReply(command) }));
        const replies = answered.map(({ reply }) => reply).filter((reply): reply is Envelope => reply !== null);
        const byTopic = new Map<string, { key: string; value: string }[]>();
        for (const reply of replies) {
          const topic = system.wireTopic(definitionOf(reply.type, reply.version)!.topic);
          byTopic.set(topic, [...(byTopic.get(topic) ?? []), { key: reply.sagaId, value: JSON.stringify(reply) }]);
        }
        await producer.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
        const ack = Date.now();
        if (hopsFile)
          for (const { message, command, reply } of answered)
            if (reply) stubHops.push({ command: command.id, reply: reply.id, kts: Number(message.timestamp), recv, ack });
        for (const message of batch.messages) resolveOffset(message.offset);
      },
    });
    stubs.push(
      () => consumer.disconnect(),
      () => producer.disconnect(),
    );
  }

  /** Creates `count` sites, `concurrency` at a time, each as soon as the last one of its worker ended. */
  const createSites = async (count: number, label: string): Promise<{ latencies: number[]; failed: number; last: string; lastSentAt: number; lastSeenAt: number }> => {
    const result = { latencies: [] as number[], failed: 0, last: '', lastSentAt: 0, lastSeenAt: 0 };
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const index = next++;
        const siteId = randomUUID();
        const name = `${label}-${index}-${siteId.slice(0, 6)}`;
        const sent = performance.now();
        const sentAt = Date.now();
        await system.send(
          CreateSite.create(
            { name, domain: `${name}.example.com`, adminEmail: 'owner@example.com' },
            { sagaId: siteId, correlationId: siteId, causationId: null },
          ),
        );
        const outcome = await system.waitForOutcomeEvent(siteId, 120_000);
        if (outcome !== 'SiteCreated') result.failed += 1;
        result.latencies.push(performance.now() - sent);
        result.last = siteId;
        result.lastSentAt = sentAt;
        result.lastSeenAt = Date.now();
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    return result;
  };

  // The same start as ../shared/limits: a few sites not counted (cold caches, JIT, the first
  // connections), then a CHECKPOINT, so that neither run pays for what came before it. The
  // real services also start with their spare database pool filled (a deployment that has
  // been up a while): the measured run finds it as a steady state would.
  const warmup = Number(process.env.BENCH_WARMUP ?? 4);
  if (warmup > 0) {
    const { failed: warmupFailed } = await createSites(warmup, 'warmup');
    if (warmupFailed > 0) console.error(`warm-up: ${warmupFailed} of ${warmup} sites not created`);
  }
  if (!stub) await sparePoolFilled(system.service('databases').url, 60_000);
  await system.query('CHECKPOINT');
  const poolBefore = stub ? null : await sparePool(system.service('databases').url);

  const cpuBefore = new Map([...system.services].map(([app, service]) => [app, cpuMs(service.pid)]));
  const machineBefore = machineBusyMs();
  const processesBefore = processCpuSnapshot();
  const started = performance.now();
  const { latencies, failed, last: lastSaga, lastSentAt, lastSeenAt } = await createSites(total, 'bench');
  const elapsed = performance.now() - started;
  // How many sites claimed a spare database and how many missed the pool (the slow path).
  const poolAfter = poolBefore ? await sparePool(system.service('databases').url) : null;
  const pool = poolBefore && poolAfter ? { claims: poolAfter.claims - poolBefore.claims, misses: poolAfter.misses - poolBefore.misses } : null;
  const machineCpu = machineBusyMs() - machineBefore;
  // What the everything-counted CPU is made of: each service, the broker, Postgres, this driver.
  const named = new Map<number, string>([[process.pid, stub ? 'bench driver and stubs' : 'bench driver'], ...[...system.services].map(([app, service]) => [service.pid, app] as [number, string])]);
  const byPart = Object.entries(cpuByPart(processesBefore, processCpuSnapshot(), named)).sort(([, a], [, b]) => b - a);
  const sorted = [...latencies].sort((a, b) => a - b);
  console.log(
    `${stub ? 'orchestration only (stub participants)' : 'real services'}: ${total} create-site sagas, ${concurrency} in flight, ${failed} not created`,
  );
  console.log(
    `latency   p50=${percentile(sorted, 50).toFixed(0)} ms  p90=${percentile(sorted, 90).toFixed(0)} ms  p99=${percentile(sorted, 99).toFixed(0)} ms  max=${sorted[sorted.length - 1]?.toFixed(0)} ms`,
  );
  console.log(`throughput ${((total / elapsed) * 1000).toFixed(1)} sites/s (${(elapsed / 1000).toFixed(1)} s)`);
  if (pool) console.log(`spare database pool: ${pool.claims} sites claimed a spare, ${pool.misses} missed it (copied the template)`);
  console.log(
    `machine CPU per site ${(machineCpu / total).toFixed(1)} ms: ${byPart.map(([part, ms]) => `${part} ${(ms / total).toFixed(1)}`).join(', ')} (ms, by process)`,
  );
  const cpu = [...system.services].map(([app, service]) => [app, (cpuMs(service.pid) - (cpuBefore.get(app) ?? 0)) / total] as const);
  if (process.env.BENCH_TIMELINE) {
    for (const [app, service] of system.services) {
      const ticks = cpuTicks(service.pid);
      console.log(`${app}: user ${ticks.user} ticks, system ${ticks.system} ticks since start`);
    }
  }
  // Idle burn: each service's CPU per second once the load is over (fetch loops, polls,
  // heartbeats, monitors), measured over BENCH_IDLE_S seconds (default 10; 0 skips it),
  // BENCH_IDLE_SETTLE_S seconds after the load (default 2). V8's memory reducer runs its
  // full collections once, 50 to 120 s after a load ends (seen per process in 10 s slices):
  // a settle of 120 s measures the steady state after it, a short one may include it.
  const rssAfterLoad = Object.fromEntries([...system.services].map(([app, service]) => [app, Math.round(rssMb(service.pid) * 10) / 10]));
  // The most each process held at any moment (VmHWM): the load's peak, whatever the GC did since.
  const rssPeak = Object.fromEntries([...system.services].map(([app, service]) => [app, Math.round(peakRssMb(service.pid) * 10) / 10]));
  console.log(`RSS right after the load ${Object.entries(rssAfterLoad).map(([app, mb]) => `${app} ${mb} MB`).join('  ')};  peak ${Object.entries(rssPeak).map(([app, mb]) => `${app} ${mb} MB`).join('  ')}`);
  const idleSeconds = Number(process.env.BENCH_IDLE_S ?? 10);
  const idle: [string, number][] = [];
  if (idleSeconds > 0) {
    await new Promise((resolve) => setTimeout(resolve, Number(process.env.BENCH_IDLE_SETTLE_S ?? 2) * 1_000));
    const before = [...system.services].map(([app, service]) => [app, service.pid, cpuMs(service.pid)] as const);
    await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1_000));
    for (const [app, pid, ms] of before) idle.push([app, (cpuMs(pid) - ms) / idleSeconds]);
    console.log(`idle CPU      ${idle.map(([app, ms]) => `${app} ${ms.toFixed(1)} ms/s`).join('  ')}`);
  }
  console.log(`CPU per site  ${cpu.map(([app, ms]) => `${app} ${ms.toFixed(1)} ms`).join('  ')}  (total ${cpu.reduce((sum, [, ms]) => sum + ms, 0).toFixed(1)} ms)`);
  if (values.json) {
    const round = (value: number): number => Math.round(value * 10) / 10;
    const line = {
      mode: stub ? 'stub' : 'real',
      n: total,
      concurrency,
      failed,
      p50_ms: round(percentile(sorted, 50)),
      p99_ms: round(percentile(sorted, 99)),
      per_s: round((total / elapsed) * 1000),
      cpu_ms_per_saga: round(cpu.reduce((sum, [, ms]) => sum + ms, 0)),
      // Everything counted: the services, Kafka, Postgres, this driver and the stubs.
      machine_cpu_ms_per_saga: round(machineCpu / total),
      cpu_ms_per_saga_by_service: Object.fromEntries(cpu.map(([app, ms]) => [app, round(ms)])),
      ...(pool ? { spare_pool: pool } : {}),
      // The machine's CPU per saga by process: services, broker, Postgres, the driver, the rest.
      machine_cpu_ms_per_saga_by_part: Object.fromEntries(byPart.map(([part, ms]) => [part, round(ms / total)])),
      // Resident memory right after the load, per service process.
      rss_mb_by_service: rssAfterLoad,
      // The most resident memory each process held (VmHWM), the load's peak.
      rss_peak_mb_by_service: rssPeak,
      // CPU per second of each service once idle again (ms/s).
      idle_cpu_ms_per_s_by_service: Object.fromEntries(idle.map(([app, ms]) => [app, round(ms)])),
    };
    console.log(`SAGA_BENCH ${JSON.stringify(line)}`);
  }

  if (process.env.BENCH_TIMELINE) {
    // Where one saga's time went: each message in or out, relative to the driver's send,
    // with the hop legs the orchestrator measured (outbox, Kafka, handler).
    type Hops = { outboxMs: number | null; brokerMs: number | null; handlerMs: number | null } | null;
    const detail = await system.admin<{ history: { direction: string; type: string; at: string; hops: Hops }[] }>(`/admin/sagas/${lastSaga}`);
    const start = lastSentAt;
    const legs = (hops: Hops): string => (hops ? `   outbox ${hops.outboxMs ?? '?'} · Kafka ${hops.brokerMs ?? '?'} · handler ${hops.handlerMs ?? '?'} ms` : '');
    const [stats] = await system.query<Record<string, string>>(
      `SELECT xact_commit, tup_inserted, tup_updated, tup_deleted FROM pg_stat_database WHERE datname = $1`,
      [system.serviceDatabase('site-saga')],
    );
    console.log(
      `site-saga database, per saga: ${Object.entries(stats ?? {})
        .map(([key, value]) => `${key} ${(Number(value) / total).toFixed(1)}`)
        .join(', ')}`,
    );
    console.log(`  +${'0'.padStart(5)} ms  driver sends CreateSite`);
    for (const entry of detail.body.history)
      console.log(`  +${String(new Date(entry.at).getTime() - start).padStart(5)} ms  ${entry.direction.padEnd(3)} ${entry.type}${legs(entry.hops)}`);
    console.log(`  +${String(lastSeenAt - start).padStart(5)} ms  driver sees the outcome`);
  }
  for (const stop of stubs) await stop();
  await system.stop();
  if (hopsFile) {
    printHops(hopsFile, stubHops);
    if (!process.env.BENCH_KEEP_HOPS) rmSync(hopsFile, { force: true });
    else console.log(`hop timings kept in ${hopsFile}`);
  }
}

withLocalInfrastructure(main).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
