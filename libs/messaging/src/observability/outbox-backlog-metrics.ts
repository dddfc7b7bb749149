import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { ScrapeCache } from './scrape-cache';

interface Backlog {
  readonly unsent: number;
  readonly oldestSeconds: number;
  readonly parked: number;
  readonly parkedDeadLetters: number;
}

/**
 * The outbox's backlog on /metrics: how many committed messages wait for the relay, and
 * how long the oldest has waited (`outbox_lag_seconds` only covers what was published, so
 * a stuck relay shows here first). Read at scrape time with one statement over the
 * `outbox_messages_unsent` partial index; every replica reports the same figure (the
 * table is shared), so aggregate with `max`, not `sum`.
 */
export class OutboxBacklogMetrics {
  readonly unsent: Gauge;
  readonly oldestUnsentSeconds: Gauge;
  readonly parked: Gauge;
  readonly parkedDeadLetters: Gauge;
  private readonly backlog: ScrapeCache<Backlog>;

  constructor(registry: Registry, dataSource: DataSource, options: { readonly logger?: Logger; readonly reuseMs?: number; readonly timeoutMs?: number } = {}) {
    this.backlog = new ScrapeCache(() => readBacklog(dataSource), {
      reuseMs: options.reuseMs ?? 2_000,
      timeoutMs: options.timeoutMs ?? 1_000,
      onError: (error) => options.logger?.warn({ err: error }, 'reading the outbox backlog for /metrics failed'),
    });
    const backlog = this.backlog;
    this.unsent = new Gauge({
      name: 'outbox_unsent_messages',
      help: 'Outbox messages committed and not yet published to Kafka (read at scrape time)',
      registers: [registry],
      async collect() {
        const figures = await backlog.get();
        if (figures) this.set(figures.unsent);
      },
    });
    this.oldestUnsentSeconds = new Gauge({
      name: 'outbox_oldest_unsent_age_seconds',
      help: 'Age of the oldest unsent outbox message, 0 when none waits (read at scrape time)',
      registers: [registry],
      async collect() {
        const figures = await backlog.get();
        if (figures) this.set(figures.oldestSeconds);
      },
    });
    this.parked = new Gauge({
      name: 'outbox_parked_messages',
      help: 'Outbox messages the broker refused for good, parked and never published (read at scrape time)',
      registers: [registry],
      async collect() {
        const figures = await backlog.get();
        if (figures) this.set(figures.parked);
      },
    });
    this.parkedDeadLetters = new Gauge({
      name: 'dead_letters_parked',
      help: 'Dead letters kept only in the dead_letters table: the DLQ topic refused them or could not be reached (read at scrape time)',
      registers: [registry],
      async collect() {
        const figures = await backlog.get();
        if (figures) this.set(figures.parkedDeadLetters);
      },
    });
  }
}

async function readBacklog(dataSource: DataSource): Promise<Backlog> {
  // Parked rows are not a backlog (the relay moved past them): they have their own figure.
  const rows = (await dataSource.query(
    `SELECT count(*) FILTER (WHERE parked_at IS NULL)::int AS unsent,
            coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE parked_at IS NULL)), 0)::float8 AS oldest,
            count(*) FILTER (WHERE parked_at IS NOT NULL)::int AS parked,
            (SELECT count(*)::int FROM dead_letters WHERE published_at IS NULL) AS parked_dead_letters
       FROM outbox_messages WHERE sent_at IS NULL`,
  )) as { unsent: number; oldest: number; parked: number; parked_dead_letters: number }[];
  return {
    unsent: rows[0]?.unsent ?? 0,
    oldestSeconds: Math.max(0, rows[0]?.oldest ?? 0),
    parked: rows[0]?.parked ?? 0,
    parkedDeadLetters: rows[0]?.parked_dead_letters ?? 0,
  };
}
