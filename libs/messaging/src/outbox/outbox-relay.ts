import type { Message, Producer, TopicMessages } from 'kafkajs';
import { Client } from 'pg';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { isNonRetriableKafkaError, kafkaErrorKind } from '../kafka/producer-errors';
import { MAX_RECORD_BYTES, recordBytes } from '../kafka/record-limits';
import { hopTiming } from '../observability/hop-timing';
import { MessagingMetrics } from '../observability/messaging-metrics';
import { TRACEPARENT_HEADER, type TracedSpan, tracer } from '../observability/tracing';
import { type BackoffPolicy, backoffDelay, delay } from '../retry/backoff';
import { describeError } from '../retry/failure-classification';
import type { CommittedOutboxRecord } from './outbox-writer';
import type { CommittedOutboxSink } from './unit-of-work';

interface OutboxRow {
  position: string;
  message_id: string;
  topic: string;
  message_key: string;
  value: string;
  headers: Record<string, string>;
  created_at: Date;
}

/** Rows handed over at commit by this process's unit of work are at most this many: beyond, the relay reads. */
const MAX_HANDED = 10_000;

const rowOf = (record: CommittedOutboxRecord, committedAt: number): OutboxRow => ({
  position: record.position,
  message_id: record.messageId,
  topic: record.topic,
  message_key: record.key,
  value: record.value,
  headers: record.headers,
  created_at: new Date(committedAt),
});

export interface OutboxRelayOptions {
  readonly dataSource: DataSource;
  /** A kafkajs producer created with `idempotent: true, maxInFlightRequests: 1`. */
  readonly producer: Producer;
  /**
   * Creates a replacement for a producer a failed send left in a bad state (fenced, out
   * of sequence): `() => createOutboxProducer(kafka)`. Without it the relay keeps the
   * producer it was given, and may stay stuck on OUT_OF_ORDER_SEQUENCE_NUMBER.
   */
  readonly createProducer?: () => Producer;
  /** Records above this size are parked without being tried (default MAX_RECORD_BYTES). */
  readonly maxRecordBytes?: number;
  /** For the relay's own session: leadership lock and LISTEN. */
  readonly connectionString: string;
  readonly logger: Logger;
  readonly pollMs: number;
  readonly batchSize: number;
  readonly retentionMs: number;
  readonly metrics?: MessagingMetrics;
  /** KAFKA_TOPIC_PREFIX: prepended to each row's topic on the wire. */
  readonly topicPrefix?: string;
  /** How long published rows wait for a commit of this process to mark them before the relay does (default 200 ms). */
  readonly markAfterMs?: number;
  /** Test seam: runs after a batch is published and before it is marked sent (a crash here re-sends). */
  readonly afterPublish?: (positions: readonly string[]) => Promise<void> | void;
}

const LEADER_LOCK = 7_321_001; // one relay per service database publishes, so per-key order holds
const RECONNECT: BackoffPolicy = { initialMs: 200, factor: 2, maxMs: 5_000, jitter: 0.2 };

/** Where the relay loop is, for /health: `failing` retries with backoff (an outage). */
export interface OutboxRelayHealth {
  readonly state: 'leading' | 'standby' | 'failing' | 'stopped';
  /** False only when the loop has ended while it should run: nothing will publish again. */
  readonly loopAlive: boolean;
  /** How long the current round (read, publish, mark) has been running, 0 when idle. */
  readonly busyForMs: number;
  readonly failingSince: number | null;
}

export interface ParkedOutboxMessage {
  readonly position: string;
  readonly messageId: string;
  readonly topic: string;
  readonly type: string;
  readonly sagaId: string;
  readonly bytes: number;
  readonly parkedAt: Date;
  readonly parkedReason: string;
}

/** Outbox rows the relay parked (the broker refused them for good), oldest first. */
export async function parkedOutboxMessages(dataSource: DataSource, limit = 100): Promise<ParkedOutboxMessage[]> {
  const rows = (await dataSource.query(
    `SELECT position::text AS position, message_id, topic, type, message_key, octet_length(value) AS bytes, parked_at, parked_reason
       FROM outbox_messages WHERE parked_at IS NOT NULL AND sent_at IS NULL ORDER BY position LIMIT $1`,
    [limit],
  )) as { position: string; message_id: string; topic: string; type: string; message_key: string; bytes: number; parked_at: Date; parked_reason: string }[];
  return rows.map((row) => ({
    position: row.position,
    messageId: row.message_id,
    topic: row.topic,
    type: row.type,
    sagaId: row.message_key,
    bytes: Number(row.bytes),
    parkedAt: row.parked_at,
    parkedReason: row.parked_reason,
  }));
}

/**
 * Publishes committed outbox rows to Kafka, in position order, and marks them sent.
 *
 * Low latency and few round trips: the unit of work of this process hands its rows over
 * right after their commit (`handOff`), and while the relay knows the table holds nothing
 * else unsent ("caught up") it publishes them straight from memory, without reading them
 * back; the positions it published are marked sent by the next commit of this process
 * (`takeMarks`), or by the relay itself when no commit comes within `markAfterMs`. A
 * replica that is not the leader sends a NOTIFY with its commit; that, a failed send, a
 * lost session or the poll makes the relay read the table again, which is always the
 * source of truth: a row handed over and lost (a crash) is still there, unsent.
 * Order: a session advisory lock elects one relay per database; it sends one batch at a
 * time through an idempotent producer with one request in flight. A crash between publish
 * and mark re-sends the batch: delivery is at least once and consumers dedupe by id.
 *
 * One row never stops it: a row larger than the record limit is parked without being
 * tried; when the broker refuses a batch for good, the rows are sent one by one through
 * a fresh producer and those refused again are parked (`parked_at`, `parked_reason`,
 * `outbox_parked_total`, a log line); the rows after them go on. A producer whose send
 * failed is replaced, never reused.
 */
export class OutboxRelay implements CommittedOutboxSink {
  private running = false;
  /** True while every unsent row is either in `handed` or published and in `unmarked`. */
  private caughtUp = false;
  /** Rows this process committed since the relay caught up, in commit order. */
  private handed: OutboxRow[] = [];
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private session: Client | null = null;
  private loop: Promise<void> | null = null;
  private lastRetention = 0;
  /** Published but not yet marked sent: marked by the next query, in the same round trip. */
  private unmarked: string[] = [];
  private producer: Producer;
  private loopEnded = false;
  private busySince: number | null = null;
  private failingSince: number | null = null;
  leader = false;

  constructor(private readonly options: OutboxRelayOptions) {
    this.producer = options.producer;
  }

  health(): OutboxRelayHealth {
    const state = !this.running ? 'stopped' : this.failingSince !== null ? 'failing' : this.leader ? 'leading' : 'standby';
    return {
      state,
      loopAlive: !this.running || !this.loopEnded,
      busyForMs: this.busySince === null ? 0 : Date.now() - this.busySince,
      failingSince: this.failingSince,
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopEnded = false;
    this.loop = this.runLoop()
      .catch((error: unknown) => this.options.logger.error({ err: error }, 'the outbox relay loop ended on an error'))
      .finally(() => (this.loopEnded = true));
  }

  /** Asks the relay to look at the outbox now. Cheap; safe to call on every commit. */
  wake(): void {
    this.woken = true;
    const wakeUp = this.wakeUp;
    this.wakeUp = null;
    wakeUp?.();
  }

  /** The unit of work's commit: publish these rows without reading them back, if caught up. */
  handOff(records: readonly CommittedOutboxRecord[]): void {
    if (!this.running || !this.leader) return; // the leader is woken by the commit's NOTIFY
    if (this.caughtUp && this.handed.length + records.length <= MAX_HANDED) {
      const now = Date.now();
      for (const record of records) this.handed.push(rowOf(record, now));
    } else {
      this.caughtUp = false;
    }
    this.wake();
  }

  /** Positions published and not yet marked: the caller marks them sent in its commit. */
  takeMarks(): string[] {
    const marks = this.unmarked;
    this.unmarked = [];
    return marks;
  }

  /** A commit that was to mark these failed: they are marked later. */
  returnMarks(positions: readonly string[]): void {
    this.unmarked.push(...positions);
  }

  /** Another process committed rows (NOTIFY), or something may have been missed: read the table. */
  private reread(): void {
    this.caughtUp = false;
    this.wake();
  }

  async stop(): Promise<void> {
    await this.halt();
    await this.markUnmarked().catch((error: unknown) => this.options.logger.warn({ err: error }, 'could not mark the last batch sent; it will be sent again'));
    await this.closeSession();
    // A replacement producer is the relay's own; the one it was given belongs to the caller.
    if (this.producer !== this.options.producer) await this.producer.disconnect().catch(() => undefined);
  }

  /** Stops the loop, then publishes what is pending now (at shutdown: flush the outbox). */
  async drain(): Promise<void> {
    await this.halt();
    if (!this.leader) return;
    while ((await this.publishBatch()) > 0);
    await this.markUnmarked();
  }

  private async halt(): Promise<void> {
    this.running = false;
    this.wake();
    // A send stuck on an unreachable broker must not hold shutdown hostage: its rows stay
    // unsent and the next leader publishes them.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise<void>((resolve) => (timer = setTimeout(resolve, 10_000)))]);
    clearTimeout(timer);
  }

  private async runLoop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        if (!this.leader) {
          await this.tryToLead();
          if (!this.leader) {
            await this.sleep(2_000);
            continue;
          }
        }
        this.busySince = Date.now();
        const published = this.caughtUp ? await this.publishHanded() : await this.publishBatch();
        this.busySince = null;
        failures = 0;
        this.failingSince = null;
        if (published > 0) continue;
        if (!this.caughtUp) continue; // a row arrived while the table was read: read again
        if (this.unmarked.length > 0) {
          // Published rows are marked by the next commit of this process; when none comes
          // soon, by the relay itself (one round trip).
          if (await this.sleep(this.options.markAfterMs ?? 200)) continue;
          await this.markUnmarked();
          continue;
        }
        await this.expireSent();
        // The poll is the safety net under the hand-over and the NOTIFY: when it fires, the
        // table is read again.
        if (!(await this.sleep(this.options.pollMs))) this.caughtUp = false;
      } catch (error) {
        failures += 1;
        this.busySince = null;
        this.failingSince ??= Date.now();
        this.caughtUp = false;
        this.handed = [];
        const wait = backoffDelay(RECONNECT, failures);
        this.options.logger.warn({ err: error, retryInMs: wait }, 'outbox relay failed; retrying');
        if (this.session === null) this.leader = false;
        await delay(wait);
      }
    }
  }

  private async tryToLead(): Promise<void> {
    if (!this.session) {
      const session = new Client({ connectionString: this.options.connectionString, application_name: 'outbox-relay' });
      // A lost session emits more than one event ("terminating connection…", "Connection
      // terminated unexpectedly", 'end'). A late one must not clobber the session that
      // replaced it: that one holds the leader lock, and dropping it unclosed would leave
      // the lock held by a session nobody publishes for: the relay would stop for good.
      const lost = (error?: Error): void => {
        if (this.session !== session) return;
        if (error) this.options.logger.warn({ err: error }, 'outbox relay lost its database session');
        this.leader = false;
        this.session = null;
        session.end().catch(() => undefined);
        this.reread();
      };
      session.on('error', lost);
      session.on('end', () => lost());
      session.on('notification', () => this.reread());
      try {
        await session.connect();
      } catch (error) {
        session.end().catch(() => undefined);
        throw error;
      }
      this.session = session;
    }
    const result = await this.session.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [LEADER_LOCK]);
    this.leader = result.rows[0]?.locked === true;
    if (this.leader) {
      this.caughtUp = false;
      this.handed = [];
      await this.session.query('LISTEN outbox_messages');
      this.options.logger.info('outbox relay is the leader for this database');
    }
  }

  /** Reads the next unsent rows (marking what was published, in the same round trip) and publishes them. */
  private async publishBatch(): Promise<number> {
    this.woken = false;
    const readStart = hopTiming ? Date.now() : 0;
    // Marking the previous batch rides along with reading the next one (a data-modifying
    // CTE): one round trip per batch. The read sees the snapshot before the UPDATE, so
    // it excludes the rows being marked by position.
    const marks = this.takeMarks();
    let rows: OutboxRow[];
    try {
      rows =
        marks.length > 0
          ? await this.options.dataSource.query(
              `WITH marked AS (UPDATE outbox_messages SET sent_at = now() WHERE position = ANY($2::bigint[]) AND sent_at IS NULL)
               SELECT position, message_id, topic, message_key, value, headers, created_at FROM outbox_messages
                WHERE sent_at IS NULL AND parked_at IS NULL AND NOT (position = ANY($2::bigint[])) ORDER BY position LIMIT $1`,
              [this.options.batchSize, marks],
            )
          : await this.options.dataSource.query(
              `SELECT position, message_id, topic, message_key, value, headers, created_at FROM outbox_messages
                WHERE sent_at IS NULL AND parked_at IS NULL ORDER BY position LIMIT $1`,
              [this.options.batchSize],
            );
    } catch (error) {
      this.returnMarks(marks);
      throw error;
    }
    // Everything this process commits from now on is handed over; a row committed while
    // the table was being read (woken) may not be in what was read: read once more.
    this.handed = [];
    if (rows.length === 0) {
      this.caughtUp = !this.woken;
      return 0;
    }
    return this.publishRows(rows, readStart);
  }

  /** Publishes the rows handed over at commit, without reading them back. */
  private async publishHanded(): Promise<number> {
    this.woken = false;
    if (this.handed.length === 0) return 0;
    const rows = this.handed.splice(0, this.options.batchSize);
    return this.publishRows(rows, hopTiming ? Date.now() : 0);
  }

  private async publishRows(rows: readonly OutboxRow[], readStart: number): Promise<number> {
    const readDone = hopTiming ? Date.now() : 0;
    const limit = this.options.maxRecordBytes ?? MAX_RECORD_BYTES;
    const sendable: { row: OutboxRow; message: Message }[] = [];
    for (const row of rows) {
      const message: Message = { key: row.message_key, value: row.value, headers: row.headers };
      const bytes = recordBytes(message);
      // The broker would refuse it, and a refused send poisons the idempotent producer.
      if (bytes > limit) await this.park(row, `record of ${bytes} bytes is over the ${limit}-byte limit`);
      else sendable.push({ row, message });
    }
    const spans = tracer() ? this.publishSpans(sendable) : null;
    let sent: OutboxRow[];
    try {
      if (sendable.length > 0) await this.producer.sendBatch({ topicMessages: this.byTopic(sendable), acks: -1 });
      sent = sendable.map(({ row }) => row);
      if (spans) for (const span of spans) span.end();
    } catch (error) {
      if (spans) for (const span of spans) span.end(error);
      await this.replaceProducer(error);
      if (!isNonRetriableKafkaError(error)) throw error;
      this.options.logger.warn({ err: error, kind: kafkaErrorKind(error), rows: sendable.length }, 'the broker refused a batch; sending its rows one by one');
      sent = await this.publishOneByOne(sendable);
    }
    const positions = sent.map((row) => row.position);
    hopTiming?.record({ ev: 'pub', ids: sent.map((row) => row.message_id), readStart, readDone, ack: Date.now() });
    await this.options.afterPublish?.(positions);
    this.unmarked.push(...positions);
    const now = Date.now();
    for (const row of sent) this.options.metrics?.outboxLag.observe((now - new Date(row.created_at).getTime()) / 1000);
    this.options.metrics?.outboxPublished.inc(sent.length);
    return rows.length;
  }

  /**
   * Tracing on: a publish span per row, child of the span that wrote it (its traceparent
   * header); the message carries the publish span's traceparent instead, so its handler's
   * span is that one's child.
   */
  private publishSpans(sendable: { row: OutboxRow; message: Message }[]): TracedSpan[] {
    const spans: TracedSpan[] = [];
    for (const entry of sendable) {
      const { row } = entry;
      const span = tracer()!.start(`publish ${row.headers['message-type'] ?? 'message'}`, 'producer', row.headers[TRACEPARENT_HEADER], {
        'messaging.system': 'kafka',
        'messaging.destination.name': row.topic,
        'messaging.message.id': row.message_id,
        'saga.id': row.message_key,
      });
      entry.message = { ...entry.message, headers: { ...row.headers, [TRACEPARENT_HEADER]: span.traceparent } };
      spans.push(span);
    }
    return spans;
  }

  private byTopic(records: readonly { row: OutboxRow; message: Message }[]): TopicMessages[] {
    const byTopic = new Map<string, TopicMessages>();
    for (const { row, message } of records) {
      const topic = `${this.options.topicPrefix ?? ''}${row.topic}`;
      let entry = byTopic.get(topic);
      if (!entry) byTopic.set(topic, (entry = { topic, messages: [] }));
      entry.messages.push(message);
    }
    return [...byTopic.values()];
  }

  /**
   * Finds the rows of a refused batch that the broker refuses: each is sent alone (in
   * position order, so one key keeps its order), a refused one is parked and the rest go
   * on. An error that retrying may cure ends the round: what was sent is marked, the rest
   * is read again next round.
   */
  private async publishOneByOne(records: readonly { row: OutboxRow; message: Message }[]): Promise<OutboxRow[]> {
    const sent: OutboxRow[] = [];
    for (const record of records) {
      try {
        await this.producer.sendBatch({ topicMessages: this.byTopic([record]), acks: -1 });
        sent.push(record.row);
      } catch (error) {
        await this.replaceProducer(error);
        if (!isNonRetriableKafkaError(error)) {
          this.unmarked.push(...sent.map((row) => row.position));
          throw error;
        }
        await this.park(record.row, `${kafkaErrorKind(error)}: ${describeError(error)}`);
      }
    }
    return sent;
  }

  private async park(row: OutboxRow, reason: string): Promise<void> {
    const bounded = reason.replace(/\u0000/g, '').slice(0, 2_000);
    await this.options.dataSource.query(`UPDATE outbox_messages SET parked_at = now(), parked_reason = $2 WHERE position = $1`, [row.position, bounded]);
    this.options.metrics?.outboxParked.inc();
    this.options.logger.error(
      { position: row.position, topic: row.topic, sagaId: row.message_key, bytes: Buffer.byteLength(row.value), reason: bounded },
      'outbox message parked: the broker will not take it; the relay moves on',
    );
  }

  /** A failed send may leave an idempotent producer out of sequence or fenced: use a fresh one. */
  private async replaceProducer(why: unknown): Promise<void> {
    const create = this.options.createProducer;
    if (!create) return;
    const old = this.producer;
    this.options.logger.warn({ err: why, kind: kafkaErrorKind(why) }, 'replacing the outbox producer after a failed send');
    this.options.metrics?.producersReplaced.inc({ producer: 'outbox' });
    await old.disconnect().catch((error: unknown) => this.options.logger.warn({ err: error }, 'disconnecting the replaced outbox producer failed'));
    const fresh = create();
    this.producer = fresh;
    // A connect that fails (broker away) is retried by kafkajs at the next send.
    await fresh
      .connect()
      .catch((error: unknown) => this.options.logger.warn({ err: error }, 'connecting the new outbox producer failed; it connects at the next send'));
  }

  private async markUnmarked(): Promise<void> {
    const marks = this.takeMarks();
    if (marks.length === 0) return;
    try {
      await this.options.dataSource.query(`UPDATE outbox_messages SET sent_at = now() WHERE position = ANY($1::bigint[]) AND sent_at IS NULL`, [marks]);
    } catch (error) {
      this.returnMarks(marks);
      throw error;
    }
  }

  private async expireSent(): Promise<void> {
    const now = Date.now();
    if (now - this.lastRetention < 60_000) return;
    this.lastRetention = now;
    await this.options.dataSource.query(
      `DELETE FROM outbox_messages WHERE position IN (
         SELECT position FROM outbox_messages WHERE sent_at < now() - make_interval(secs => $1) LIMIT 10000)`,
      [this.options.retentionMs / 1000],
    );
  }

  /** Waits up to `ms`; true when woken before that (work arrived), false when the time ran out. */
  private sleep(ms: number): Promise<boolean> {
    if (this.woken || !this.running) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = null;
        resolve(false);
      }, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  private async closeSession(): Promise<void> {
    const session = this.session;
    this.session = null;
    this.leader = false;
    if (session) await session.end().catch(() => undefined);
  }
}
