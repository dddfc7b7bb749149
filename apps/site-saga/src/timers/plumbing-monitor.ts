import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { Logger } from 'pino';

export interface PlumbingMonitorOptions {
  /** How often to ask the broker for its metadata. */
  readonly intervalMs: number;
  /**
   * The broker counts as out when it has not answered for this long (at least a probe's
   * wait, `intervalMs` plus `fetchWaitMs`, plus 2 s for the probe to be answered).
   */
  readonly downAfterMs: number;
  /** The consumer counts as out when it has neither fetched nor heart-beaten for this long. */
  readonly consumerDownAfterMs: number;
  /**
   * How long an idle consumer's fetch waits at the broker (KAFKA_FETCH_MAX_WAIT_MS): its
   * fetches answer at least this often, so the probe asks only after a silence longer
   * than this plus `intervalMs`. Default 0.
   */
  readonly fetchWaitMs?: number;
  readonly clock?: () => number;
}

/** Where the orchestrator's consumer is found (libs/messaging's KafkaEnvelopeServer): it may be replaced or absent. */
export interface ConsumerSource {
  unwrap<T>(): T;
}

/**
 * What the deadline sweeper needs to know of the plumbing: whether it works now, and
 * since when it has not.
 */
export interface Plumbing {
  start(): void;
  stop(): Promise<void>;
  isUp(now?: number): boolean;
  /** When it last worked (meaningful while it does not). */
  readonly lastWorkingAt: number;
  /** A query of this process failed for a transient reason (the database went away). */
  reportDatabaseFailure(): void;
  /** True while it is out, or when it was out within the last `ms`. */
  outageWithin(ms: number): boolean;
}

/**
 * The broker answers (BrokerProbe) and this process's consumer fetches: only then can a
 * command reach a participant and its reply come back, so only then may a reply deadline
 * expire. The consumer is watched through kafkajs instrumentation events (FETCH,
 * HEARTBEAT) of whatever consumer instance the server holds now; a replaced consumer is
 * picked up on the next tick.
 */
export class PlumbingMonitor implements Plumbing {
  private readonly broker: BrokerProbe;
  private readonly watched = new WeakSet<object>();
  private readonly clock: () => number;
  private timer: NodeJS.Timeout | null = null;
  /**
   * When the consumer last fetched or sent a heartbeat; null until it first did (a consumer
   * still joining at boot is not an outage: no reply was owed to this process yet).
   */
  lastConsumedAt: number | null = null;
  /** When the plumbing was last seen out (broker, consumer or database), or null. */
  private lastOutageAt: number | null = null;

  constructor(
    kafka: Pick<Kafka, 'admin'>,
    private readonly consumers: ConsumerSource,
    private readonly logger: Logger,
    private readonly options: PlumbingMonitorOptions,
  ) {
    this.clock = options.clock ?? Date.now;
    this.broker = new BrokerProbe(kafka, logger, options);
  }

  /** One timer for the probe and the consumer watch: an idle orchestrator wakes once a second for both, not twice. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
    this.timer.unref();
    this.tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.broker.close();
  }

  isUp(now: number = this.clock()): boolean {
    return this.broker.isUp(now) && (this.lastConsumedAt === null || now - this.lastConsumedAt <= this.options.consumerDownAfterMs);
  }

  get lastWorkingAt(): number {
    return Math.min(this.broker.lastReachedAt, this.lastConsumedAt ?? Number.POSITIVE_INFINITY);
  }

  reportDatabaseFailure(): void {
    this.lastOutageAt = this.clock();
  }

  outageWithin(ms: number): boolean {
    const now = this.clock();
    if (!this.isUp(now)) return true;
    return this.lastOutageAt !== null && now - this.lastOutageAt <= ms;
  }

  private tick(): void {
    this.broker.probe();
    if (!this.isUp()) this.lastOutageAt = this.clock();
    this.watchConsumer();
  }

  private watchConsumer(): void {
    let consumer: Consumer | null = null;
    try {
      consumer = this.consumers.unwrap<Consumer | null>();
    } catch {
      return;
    }
    if (!consumer || this.watched.has(consumer)) return;
    this.watched.add(consumer);
    // A fetch or heartbeat answered is also the broker answering: the probe then need not ask.
    const seen = () => {
      this.lastConsumedAt = this.clock();
      this.broker.reached(this.lastConsumedAt);
    };
    consumer.on(consumer.events.FETCH, seen);
    consumer.on(consumer.events.HEARTBEAT, seen);
  }
}

/**
 * Tells the deadline sweeper whether the broker answers. While it does not (frozen,
 * unreachable, partitioned), no command can reach a participant and no reply can come
 * back, so no reply deadline may expire; `lastReachedAt` says when the outage began.
 *
 * One metadata request at a time: a request to a frozen broker hangs until the client
 * gives up, and probes must not pile up behind it. It answers the moment the broker
 * thaws, which is when the outage ends.
 */
export class BrokerProbe {
  private admin: Admin | null = null;
  private connected = false;
  private inFlight = false;
  private readonly clock: () => number;
  /** When the broker last answered (boot counts as an answer: nothing was owed before). */
  lastReachedAt: number;

  constructor(
    private readonly kafka: Pick<Kafka, 'admin'>,
    private readonly logger: Logger,
    private readonly options: Pick<PlumbingMonitorOptions, 'intervalMs' | 'downAfterMs' | 'fetchWaitMs' | 'clock'>,
  ) {
    this.clock = options.clock ?? Date.now;
    this.lastReachedAt = this.clock();
  }

  /** Drops the admin client; a later probe makes a new one. */
  async close(): Promise<void> {
    const admin = this.admin;
    this.admin = null;
    this.connected = false;
    await admin?.disconnect().catch(() => undefined);
  }

  /** True while the broker answered within `downAfterMs` (never shorter than a probe's wait and answer). */
  isUp(now: number = this.clock()): boolean {
    const { downAfterMs, intervalMs, fetchWaitMs = 0 } = this.options;
    return now - this.lastReachedAt <= Math.max(downAfterMs, intervalMs + fetchWaitMs + 2_000);
  }

  /**
   * The broker answered something else of this process (a fetch, a heartbeat). An idle
   * consumer fetches every `fetchWaitMs`, so while it works the probe asks nothing: the
   * metadata request once a second was most of an idle orchestrator's CPU.
   */
  reached(at: number): void {
    if (!this.isUp(at)) this.logger.info({ outageMs: at - this.lastReachedAt }, 'the broker answers again');
    this.lastReachedAt = Math.max(this.lastReachedAt, at);
  }

  /** Asks the broker, unless a question is out or something else of this process heard from it lately. Called every `intervalMs`. */
  probe(): void {
    if (this.inFlight) return;
    if (this.clock() - this.lastReachedAt < this.options.intervalMs + (this.options.fetchWaitMs ?? 0)) return;
    this.inFlight = true;
    this.ask()
      .then(() => {
        if (!this.isUp()) this.logger.info({ outageMs: this.clock() - this.lastReachedAt }, 'the broker answers again');
        this.lastReachedAt = this.clock();
      })
      .catch((error: unknown) => {
        this.connected = false;
        this.logger.debug({ err: error }, 'broker probe failed');
      })
      .finally(() => {
        this.inFlight = false;
      });
  }

  private async ask(): Promise<void> {
    this.admin ??= this.kafka.admin();
    if (!this.connected) {
      await this.admin.connect();
      this.connected = true;
    }
    await this.admin.describeCluster(); // a metadata request: a real round trip every time
  }
}
