/**
 * Latency of one participant service, end to end: the service runs as a process (its
 * built dist), commands are produced to its command topic with a raw producer, and each
 * command's latency is measured from produce to its reply seen on the events topic.
 * Also reports the service's CPU time per command (from /proc). Prints, asserts nothing.
 */
import { randomUUID } from 'node:crypto';
import type { Envelope } from '@sitesaga/contracts';
import { Client } from 'pg';
import { testKafka } from './kafka-probe';
import { startService } from './service-process';
import { createTopicNamespace } from './topic-namespace';
import { cpuMs } from './process-cpu';

export interface ParticipantBench {
  readonly app: string;
  readonly commandTopic: string;
  readonly eventTopic: string;
  readonly count: number;
  /** Commands in flight at once (1: one after another, pure latency). */
  readonly concurrency: number;
  readonly env?: Record<string, string>;
  /** The i-th command; each gets its own saga id, so they spread over partitions. */
  readonly command: (index: number) => Envelope;
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** user + system CPU time of a process, in ms (Linux). */

export async function benchParticipant(bench: ParticipantBench): Promise<void> {
  const kafka = testKafka(`bench-${bench.app}`);
  const prefix = `bench_${bench.app.replace(/-/g, '_')}_${randomUUID().slice(0, 8)}_`;
  const namespace = await createTopicNamespace(kafka, `bench-${bench.app}`);
  const service = await startService(bench.app, { DATABASE_NAME_PREFIX: prefix, KAFKA_TOPIC_PREFIX: namespace.prefix, LOG_LEVEL: 'warn', ...bench.env });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId: `bench-${randomUUID()}`, allowAutoTopicCreation: false, maxWaitTimeInMs: 50 });
  const sentAt = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  const latencies: number[] = [];
  const outcomes = new Map<string, number>();
  try {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topics: [namespace.topic(bench.eventTopic)], fromBeginning: true });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.run({
      eachMessage: async ({ message }) => {
        const cause = message.headers?.['causation-id']?.toString();
        const started = cause ? sentAt.get(cause) : undefined;
        if (cause === undefined || started === undefined) return;
        latencies.push(performance.now() - started);
        const type = message.headers?.['message-type']?.toString() ?? '?';
        outcomes.set(type, (outcomes.get(type) ?? 0) + 1);
        sentAt.delete(cause);
        waiting.get(cause)?.();
      },
    });
    await joined;

    const roundTrip = async (command: Envelope): Promise<void> => {
      const replied = new Promise<void>((resolve) => waiting.set(command.id, resolve));
      sentAt.set(command.id, performance.now());
      await producer.send({ topic: namespace.topic(bench.commandTopic), messages: [{ key: command.sagaId, value: JSON.stringify(command) }] });
      await replied;
      waiting.delete(command.id);
    };
    // Warm-up: the consumer's first fetches, JIT, connection pools.
    for (let index = 0; index < 10; index++) await roundTrip(bench.command(-1 - index));
    latencies.length = 0;
    outcomes.clear();

    const cpuBefore = cpuMs(service.pid);
    const startedAt = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: bench.concurrency }, async () => {
        while (next < bench.count) await roundTrip(bench.command(next++));
      }),
    );
    const elapsed = performance.now() - startedAt;
    const cpu = cpuMs(service.pid) - cpuBefore;

    const sorted = [...latencies].sort((a, b) => a - b);
    console.log(`${bench.app}: ${bench.count} commands, ${bench.concurrency} in flight, against ${process.env.KAFKA_BROKERS}`);
    console.log(`  outcomes            ${[...outcomes].map(([type, n]) => `${type}=${n}`).join(' ')}`);
    console.log(
      `  latency (produce → reply seen)  p50=${percentile(sorted, 50).toFixed(1)} ms  p90=${percentile(sorted, 90).toFixed(1)} ms  p99=${percentile(sorted, 99).toFixed(1)} ms  max=${sorted[sorted.length - 1]?.toFixed(1)} ms`,
    );
    console.log(`  throughput          ${((bench.count / elapsed) * 1000).toFixed(0)} commands/s`);
    console.log(`  service CPU         ${(cpu / bench.count).toFixed(2)} ms per command (${cpu.toFixed(0)} ms in ${(elapsed / 1000).toFixed(1)} s)`);
  } finally {
    await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
    await service.stop();
    await namespace.drop();
    const admin = new Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${prefix}${bench.app.replace(/-/g, '_')}" WITH (FORCE)`);
    await admin.end();
  }
}
