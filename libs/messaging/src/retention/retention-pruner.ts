import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { DataSource } from 'typeorm';

/**
 * One kind of row that ages out. `deleteBatch` deletes at most `$2` rows older than `$1`
 * seconds and returns them (`RETURNING 1`), so a round knows when it is done.
 */
export interface RetentionTarget {
  /** The metric's `table` label and the log's name. */
  readonly table: string;
  readonly maxAgeMs: number;
  readonly deleteBatch: string;
}

export interface RetentionOptions {
  readonly dataSource: DataSource;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Rows per DELETE: small, so no statement holds many locks or runs long next to live traffic. */
  readonly batchSize: number;
  /** How often a round runs. */
  readonly intervalMs: number;
  /** Batches per table and round at most; the rest waits for the next round. */
  readonly maxBatchesPerRound?: number;
}

/** The inbox rows of every service: a message older than this is never delivered again. */
export const inboxRetention = (maxAgeMs: number): RetentionTarget => ({
  table: 'inbox_messages',
  maxAgeMs,
  deleteBatch: `DELETE FROM inbox_messages WHERE ctid IN (
      SELECT ctid FROM inbox_messages WHERE processed_at < now() - make_interval(secs => $1) LIMIT $2 FOR UPDATE SKIP LOCKED)
    RETURNING 1`,
});

/**
 * Deletes old rows in small batches on a timer, from every replica at once without
 * contention (`SKIP LOCKED`), and counts them on /metrics (`retention_pruned_rows_total`).
 * A failure is logged and retried next round: pruning is never urgent.
 */
export class RetentionPruner {
  private readonly targets: RetentionTarget[] = [];
  private readonly pruned: Counter<'table'>;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly options: RetentionOptions) {
    this.pruned = new Counter({
      name: 'retention_pruned_rows_total',
      help: 'Rows deleted because they were older than their retention, by table',
      labelNames: ['table'],
      registers: [options.registry],
    });
  }

  add(target: RetentionTarget): void {
    if (!(target.maxAgeMs > 0)) throw new Error(`retention of ${target.table} must be positive`);
    this.targets.push(target);
    this.pruned.inc({ table: target.table }, 0);
  }

  start(): void {
    if (this.timer || this.options.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.runOnce(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One round over every target; resolves with the rows deleted per table. Never throws. */
  runOnce(): Promise<Record<string, number>> {
    const round = (async () => {
      const deleted: Record<string, number> = {};
      for (const target of this.targets) {
        let total = 0;
        try {
          for (let batch = 0; batch < (this.options.maxBatchesPerRound ?? 20); batch += 1) {
            const rows = (await this.options.dataSource.query(target.deleteBatch, [target.maxAgeMs / 1000, this.options.batchSize])) as unknown[];
            const count = Array.isArray(rows[0]) ? (rows[0] as unknown[]).length : rows.length;
            total += count;
            this.pruned.inc({ table: target.table }, count);
            if (count < this.options.batchSize) break;
          }
        } catch (error) {
          this.options.logger.warn({ err: error, table: target.table }, 'retention: pruning failed; next round tries again');
        }
        deleted[target.table] = total;
      }
      return deleted;
    })();
    this.running = round.then(() => undefined);
    return round;
  }
}
