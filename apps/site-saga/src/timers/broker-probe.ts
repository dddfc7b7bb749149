import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from 'pino';

export interface BrokerProbeOptions {
  /** How often to ask the broker for its metadata. */
  readonly intervalMs: number;
  /** The broker counts as out when it has not answered for this long. */
  readonly downAfterMs: number;
  readonly clock?: () => number;
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
  private timer: NodeJS.Timeout | null = null;
  private readonly clock: () => number;
  /** When the broker last answered (boot counts as an answer: nothing was owed before). */
  lastReachedAt: number;

  constructor(
    private readonly kafka: Pick<Kafka, 'admin'>,
    private readonly logger: Logger,
    private readonly options: BrokerProbeOptions,
  ) {
    this.clock = options.clock ?? Date.now;
    this.lastReachedAt = this.clock();
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.probe(), this.options.intervalMs);
    this.timer.unref();
    this.probe();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const admin = this.admin;
    this.admin = null;
    this.connected = false;
    await admin?.disconnect().catch(() => undefined);
  }

  /** True while the broker answered within `downAfterMs`. */
  isUp(now: number = this.clock()): boolean {
    return now - this.lastReachedAt <= this.options.downAfterMs;
  }

  private probe(): void {
    if (this.inFlight) return;
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
