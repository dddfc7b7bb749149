import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { BulkAction } from '@sitesaga/http-contracts';
import { UnitOfWork } from '@sitesaga/messaging';
import { SagaConcurrencyConflict, SagaEngine, SagaNotFound, SagaTransitionRefused, UnknownSagaType } from '@sitesaga/saga';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { DataSource, EntityManager } from 'typeorm';
import { HostSagaEngine } from '../host-saga-engine';
import { ADMIN_LOGGER, SagaStream } from '../saga-stream';
import { BulkMetrics } from './bulk-metrics';

/** How often a replica looks for bulks nobody runs (a crashed runner, or one stopped by a restart); a new bulk starts at once. */
export const CLAIM_INTERVAL_MS = 5_000;
/** A runner that has not written its heartbeat for this long is presumed gone; another takes over. */
export const STALE_AFTER_SECONDS = 15;
const BATCH = 50;
const CONFLICT_ATTEMPTS = 3;

type Outcome = 'done' | 'skipped' | 'failed';

interface RunningBulk {
  readonly id: string;
  readonly action: BulkAction;
  readonly operator: string;
  readonly reason: string | null;
  readonly ratePerSecond: number;
}

/** The number of rows an UPDATE changed (TypeORM's postgres driver answers `[rows, count]`). */
export const rowsChanged = (result: unknown): number =>
  Array.isArray(result) && result.length === 2 && typeof result[1] === 'number' ? result[1] : Array.isArray(result) ? result.length : 0;

/** The rows an UPDATE … RETURNING gave back. */
export const rowsOf = <T>(result: unknown): T[] =>
  Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number'
    ? (result[0] as T[])
    : Array.isArray(result)
      ? (result as T[])
      : [];

const bounded = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/**
 * Works through running bulk operations in the background, one saga at a time, at most
 * `ratePerSecond`: each saga's turn starts at least 1/rate s after the previous one's
 * (recorded per item as `at`). Each saga is one unit of work: the engine's change, its
 * outbox rows and the item's outcome commit together, so a bulk resumed after a crash does
 * not act twice on a saga. A runner writes a heartbeat before each saga; a bulk whose
 * heartbeat is older than 15 s (its replica died) or that a stopping replica released is
 * taken over by any replica, counted in `interruptions`.
 */
@Injectable()
export class BulkRunner implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly runnerId = bounded(`${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`, 100);
  private readonly running = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private stopping = false;
  private readonly sleepers = new Set<() => void>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly unitOfWork: UnitOfWork,
    private readonly stream: SagaStream,
    private readonly metrics: BulkMetrics,
    private readonly host: HostSagaEngine,
    @Inject(ADMIN_LOGGER) private readonly logger: Logger,
  ) {}

  private get engine(): SagaEngine {
    return this.host.get();
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.claim(), CLAIM_INTERVAL_MS);
    this.timer.unref();
    void this.claim();
  }

  /** Finishes the saga in hand, then releases this replica's bulks so that the next runner resumes them at once. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    for (const wake of [...this.sleepers]) wake();
    await Promise.allSettled([...this.running.values()]);
    const released = await this.dataSource
      .query(
        `UPDATE admin_bulk_operations SET runner = NULL, heartbeat_at = NULL, interruptions = interruptions + 1, updated_at = now() WHERE runner = $1 AND status = 'running'`,
        [this.runnerId],
      )
      .catch((error: unknown) => {
        this.logger.warn({ err: error }, 'could not release bulk operations at shutdown; another replica takes them over when their heartbeat is stale');
        return null;
      });
    if (released !== null && rowsChanged(released) > 0) this.logger.info({ released: rowsChanged(released) }, 'released running bulk operations at shutdown');
  }

  /** Runs a bulk this replica owns (just started here, or claimed). */
  run(id: string): void {
    if (this.stopping || this.running.has(id)) return;
    const work = this.execute(id)
      .catch((error: unknown) => this.logger.error({ err: error, bulkId: id }, 'bulk operation runner stopped; it resumes when its heartbeat is stale'))
      .finally(() => {
        this.running.delete(id);
        this.metrics.running.set(this.running.size);
      });
    this.running.set(id, work);
    this.metrics.running.set(this.running.size);
  }

  /** Takes over bulks nobody runs: released at a shutdown, or whose runner stopped writing its heartbeat. */
  async claim(): Promise<void> {
    if (this.stopping) return;
    try {
      for (;;) {
        const claimed = (await this.dataSource.query(
          `UPDATE admin_bulk_operations b
              SET runner = $1, heartbeat_at = now(), updated_at = now(),
                  interruptions = b.interruptions + CASE WHEN b.runner IS NOT NULL THEN 1 ELSE 0 END
            WHERE b.id = (SELECT id FROM admin_bulk_operations
                           WHERE status = 'running' AND (runner IS NULL OR heartbeat_at IS NULL OR heartbeat_at < now() - make_interval(secs => $2))
                           ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING b.id`,
          [this.runnerId, STALE_AFTER_SECONDS],
        )) as unknown;
        const [row] = rowsOf<{ id: string }>(claimed);
        if (!row || this.stopping) return;
        this.logger.info({ bulkId: row.id }, 'resuming a bulk operation');
        this.run(row.id);
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'could not look for bulk operations to resume');
    }
  }

  private async execute(id: string): Promise<void> {
    const [row] = (await this.dataSource.query(`SELECT id, action, operator, reason, rate_per_second FROM admin_bulk_operations WHERE id = $1`, [id])) as {
      id: string;
      action: BulkAction;
      operator: string;
      reason: string | null;
      rate_per_second: number;
    }[];
    if (!row) return;
    const bulk: RunningBulk = { id: row.id, action: row.action, operator: row.operator, reason: row.reason, ratePerSecond: row.rate_per_second };
    const spacingMs = 1000 / bulk.ratePerSecond;
    let previousStart = 0;
    for (;;) {
      const batch = (await this.dataSource.query(
        `SELECT position, saga_id FROM admin_bulk_operation_items WHERE bulk_id = $1 AND outcome = 'pending' ORDER BY position LIMIT ${BATCH}`,
        [id],
      )) as { position: number; saga_id: string }[];
      if (batch.length === 0) {
        await this.finish(bulk);
        return;
      }
      for (const item of batch) {
        // A timer may fire a millisecond early: wait until the turn is really due.
        const due = previousStart + spacingMs;
        while (!this.stopping && Date.now() < due) await this.sleep(due - Date.now());
        if (this.stopping) return;
        // The heartbeat, and the check that this runner still owns a running bulk (not cancelled, not taken over).
        const owned = await this.dataSource.query(
          `UPDATE admin_bulk_operations SET heartbeat_at = now() WHERE id = $1 AND runner = $2 AND status = 'running' RETURNING id`,
          [id, this.runnerId],
        );
        if (rowsChanged(owned) === 0) {
          this.logger.info({ bulkId: id }, 'bulk operation cancelled or taken over; stopping');
          return;
        }
        previousStart = Date.now();
        await this.handle(bulk, item.position, item.saga_id, new Date(previousStart));
      }
    }
  }

  private async finish(bulk: RunningBulk): Promise<void> {
    const finished = await this.dataSource.query(
      `UPDATE admin_bulk_operations SET status = 'completed', finished_at = now(), updated_at = now(), runner = NULL WHERE id = $1 AND runner = $2 AND status = 'running' RETURNING done, skipped, failed`,
      [bulk.id, this.runnerId],
    );
    if (rowsChanged(finished) > 0) {
      this.metrics.operations.inc({ action: bulk.action, outcome: 'completed' });
      this.logger.info({ bulkId: bulk.id, action: bulk.action, operator: bulk.operator }, 'bulk operation completed');
    }
  }

  /** One saga: the engine's action and the item's outcome in one unit of work; a saga not in a state for it is skipped. */
  private async handle(bulk: RunningBulk, position: number, sagaId: string, at: Date): Promise<void> {
    const requestId = `operator:${bulk.operator}:${randomUUID()}`;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const outcome = await this.unitOfWork.run(null, async (tx) => {
          const state =
            bulk.action === 'retry'
              ? await this.engine.retry(tx, sagaId, requestId)
              : await this.engine.abort(tx, sagaId, bulk.reason ?? 'bulk abort', requestId);
          await this.record(tx.manager, bulk, position, 'done', `saga now ${state.status}`, at);
          return state;
        });
        if (outcome.status !== 'done') throw new Error(`unexpected unit-of-work outcome ${outcome.status}`);
        this.stream.publish(sagaId);
        this.metrics.sagas.inc({ action: bulk.action, outcome: 'done' });
        return;
      } catch (error) {
        if (error instanceof SagaConcurrencyConflict && attempt < CONFLICT_ATTEMPTS) continue;
        const [outcome, detail] = outcomeOfError(bulk.action, error);
        if (outcome === 'failed') this.logger.warn({ err: error, bulkId: bulk.id, sagaId }, 'bulk operation could not act on a saga');
        await this.record(this.dataSource.manager, bulk, position, outcome, detail, at);
        this.metrics.sagas.inc({ action: bulk.action, outcome });
        return;
      }
    }
  }

  private async record(manager: Pick<EntityManager, 'query'>, bulk: RunningBulk, position: number, outcome: Outcome, detail: string, at: Date): Promise<void> {
    // The column is one of three names, never input.
    await manager.query(
      `WITH item AS (
         UPDATE admin_bulk_operation_items SET outcome = $3, detail = $4, at = $5 WHERE bulk_id = $1 AND position = $2 AND outcome = 'pending' RETURNING 1)
       UPDATE admin_bulk_operations SET ${outcome} = ${outcome} + (SELECT count(*)::int FROM item), updated_at = now() WHERE id = $1`,
      [bulk.id, position, outcome, bounded(detail, 300), at],
    );
  }

  /** Waits, unless the replica is stopping. */
  private sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }
}

function outcomeOfError(action: BulkAction, error: unknown): [Outcome, string] {
  if (error instanceof SagaTransitionRefused) {
    return [
      'skipped',
      `it is ${error.status}: ${action === 'abort' ? 'only a RUNNING saga can be aborted' : 'only a RUNNING, COMPENSATING or FAILED saga can be retried'}`,
    ];
  }
  if (error instanceof SagaNotFound) return ['skipped', 'no such saga any more'];
  if (error instanceof UnknownSagaType) return ['skipped', `its type ${error.sagaType} is not run by this orchestrator`];
  if (error instanceof SagaConcurrencyConflict) return ['failed', 'the saga kept changing; retry it alone'];
  return ['failed', error instanceof Error ? error.message : String(error)];
}
