import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { ScrapeCache } from './scrape-cache';

interface Backlog {
  readonly unsent: number;
  readonly oldestSeconds: number;
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
  }
}

async function readBacklog(dataSource: DataSource): Promise<Backlog> {
  const rows = (await dataSource.query(
    `SELECT count(*)::int AS unsent, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest
       FROM outbox_messages WHERE sent_at IS NULL`,
  )) as { unsent: number; oldest: number }[];
  return { unsent: rows[0]?.unsent ?? 0, oldestSeconds: Math.max(0, rows[0]?.oldest ?? 0) };
}
