import type { Producer, TopicMessages } from 'kafkajs';
import { Client } from 'pg';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { MessagingMetrics } from '../observability/messaging-metrics';
import { type BackoffPolicy, backoffDelay, delay } from '../retry/backoff';

interface OutboxRow {
  position: string;
  topic: string;
  message_key: string;
  value: string;
  headers: Record<string, string>;
  created_at: Date;
}

export interface OutboxRelayOptions {
  readonly dataSource: DataSource;
  /** A kafkajs producer created with `idempotent: true, maxInFlightRequests: 1`. */
  readonly producer: Producer;
  /** For the relay's own session: leadership lock and LISTEN. */
  readonly connectionString: string;
  readonly logger: Logger;
  readonly pollMs: number;
  readonly batchSize: number;
  readonly retentionMs: number;
  readonly metrics?: MessagingMetrics;
  /** KAFKA_TOPIC_PREFIX: prepended to each row's topic on the wire. */
  readonly topicPrefix?: string;
  /** Test seam: runs after a batch is published and before it is marked sent (a crash here re-sends). */
  readonly afterPublish?: (positions: readonly string[]) => Promise<void> | void;
}

const LEADER_LOCK = 7_321_001; // one relay per service database publishes, so per-key order holds
const RECONNECT: BackoffPolicy = { initialMs: 200, factor: 2, maxMs: 5_000, jitter: 0.2 };

/**
 * Publishes committed outbox rows to Kafka, in position order, and marks them sent.
 *
 * Low latency: the unit of work wakes it in-process at commit, and a replica that is not
 * the leader sends a NOTIFY with its commit to wake the leader; the poll is a fallback.
 * Order: a session advisory lock elects one relay per database; it sends one batch at a
 * time through an idempotent producer with one request in flight. A crash between publish
 * and mark re-sends the batch: delivery is at least once and consumers dedupe by id.
 */
export class OutboxRelay {
  private running = false;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private session: Client | null = null;
  private loop: Promise<void> | null = null;
  private lastRetention = 0;
  /** Published but not yet marked sent: marked by the next query, in the same round trip. */
  private unmarked: string[] = [];
  leader = false;

  constructor(private readonly options: OutboxRelayOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.runLoop();
  }

  /** Asks the relay to look at the outbox now. Cheap; safe to call on every commit. */
  wake(): void {
    this.woken = true;
    const wakeUp = this.wakeUp;
    this.wakeUp = null;
    wakeUp?.();
  }

  async stop(): Promise<void> {
    await this.halt();
    await this.markUnmarked().catch((error: unknown) => this.options.logger.warn({ err: error }, 'could not mark the last batch sent; it will be sent again'));
    await this.closeSession();
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
    await Promise.race([this.loop, delay(10_000)]);
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
        const published = await this.publishBatch();
        failures = 0;
        if (published === 0) {
          await this.expireSent();
          await this.sleep(this.options.pollMs);
        }
      } catch (error) {
        failures += 1;
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
      session.on('error', (error) => {
        this.options.logger.warn({ err: error }, 'outbox relay lost its database session');
        this.leader = false;
        this.session = null;
        this.wake();
      });
      session.on('notification', () => this.wake());
      await session.connect();
      this.session = session;
    }
    const result = await this.session.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [LEADER_LOCK]);
    this.leader = result.rows[0]?.locked === true;
    if (this.leader) {
      await this.session.query('LISTEN outbox_messages');
      this.options.logger.info('outbox relay is the leader for this database');
    }
  }

  private async publishBatch(): Promise<number> {
    this.woken = false;
    const marks = this.unmarked;
    // Marking the previous batch rides along with reading the next one (a data-modifying
    // CTE): one round trip per batch. The read sees the snapshot before the UPDATE, so
    // it excludes the rows being marked by position.
    const rows: OutboxRow[] =
      marks.length > 0
        ? await this.options.dataSource.query(
            `WITH marked AS (UPDATE outbox_messages SET sent_at = now() WHERE position = ANY($2::bigint[]))
             SELECT position, topic, message_key, value, headers, created_at FROM outbox_messages
              WHERE sent_at IS NULL AND NOT (position = ANY($2::bigint[])) ORDER BY position LIMIT $1`,
            [this.options.batchSize, marks],
          )
        : await this.options.dataSource.query(
            `SELECT position, topic, message_key, value, headers, created_at FROM outbox_messages
              WHERE sent_at IS NULL ORDER BY position LIMIT $1`,
            [this.options.batchSize],
          );
    this.unmarked = [];
    if (rows.length === 0) return 0;
    const byTopic = new Map<string, TopicMessages>();
    for (const row of rows) {
      const topic = `${this.options.topicPrefix ?? ''}${row.topic}`;
      let entry = byTopic.get(topic);
      if (!entry) byTopic.set(topic, (entry = { topic, messages: [] }));
      entry.messages.push({ key: row.message_key, value: row.value, headers: row.headers });
    }
    await this.options.producer.sendBatch({ topicMessages: [...byTopic.values()], acks: -1 });
    const positions = rows.map((row) => row.position);
    await this.options.afterPublish?.(positions);
    this.unmarked = positions;
    const now = Date.now();
    for (const row of rows) this.options.metrics?.outboxLag.observe((now - new Date(row.created_at).getTime()) / 1000);
    this.options.metrics?.outboxPublished.inc(rows.length);
    return rows.length;
  }

  private async markUnmarked(): Promise<void> {
    const marks = this.unmarked;
    this.unmarked = [];
    if (marks.length > 0) await this.options.dataSource.query(`UPDATE outbox_messages SET sent_at = now() WHERE position = ANY($1::bigint[])`, [marks]);
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

  private sleep(ms: number): Promise<void> {
    if (this.woken || !this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = null;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
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
