import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  BULK_LIMITS,
  type BulkAction,
  type BulkDryRun,
  type BulkItemPage,
  type BulkOperation,
  type BulkOperationPage,
  type BulkRequest,
} from '@sitesaga/http-contracts';
import { countSelectedSagas, selectedSagaIds } from '@sitesaga/saga';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { AuditLog } from './audit-log';
import { BulkMetrics } from './bulk-metrics';
import { type BulkItemsQuery, canonicalFilter, type PageQuery, selectionOf } from './bulk-request-validation';
import { BulkRunner, rowsChanged } from './bulk-runner';
import { BULK_COLUMNS, type BulkRow, bulkViewOf } from './bulk-views';

/** The statuses each action applies to (the engine's rules; others are skipped, not failed). */
export const ACTIONABLE: Readonly<Record<BulkAction, readonly string[]>> = {
  retry: ['RUNNING', 'COMPENSATING', 'FAILED'],
  abort: ['RUNNING'],
};

const UNIQUE_VIOLATION = '23505';

/**
 * Bulk operations: a dry run counts, a start selects the matching sagas once (their ids, in
 * order, in admin_bulk_operation_items) and hands them to the BulkRunner, which works
 * through them in the background at the asked rate. The HTTP request never waits for it.
 */
@Injectable()
export class BulkOperations {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditLog,
    private readonly runner: BulkRunner,
    private readonly metrics: BulkMetrics,
  ) {}

  async dryRun(request: BulkRequest): Promise<BulkDryRun> {
    const filter = canonicalFilter(request.filter);
    const selection = selectionOf(filter);
    const [count, sample] = await Promise.all([
      countSelectedSagas(this.dataSource.manager, selection),
      selectedSagaIds(this.dataSource.manager, selection, BULK_LIMITS.sample),
    ]);
    const actionable = ACTIONABLE[request.action].reduce((sum, status) => sum + (count.byStatus[status] ?? 0), 0);
    return {
      dryRun: true,
      action: request.action,
      filter,
      matched: count.matched,
      actionable,
      byStatus: { ...count.byStatus },
      sample,
      maxSagas: BULK_LIMITS.maxSagas,
    };
  }

  async start(request: BulkRequest, operator: string): Promise<BulkOperation> {
    const filter = canonicalFilter(request.filter);
    const filterKey = JSON.stringify({ action: request.action, filter });
    const id = randomUUID();
    const rate = request.ratePerSecond ?? BULK_LIMITS.ratePerSecond.default;
    try {
      await this.dataSource.transaction(async (manager) => {
        // One start at a time over every replica: the cap on running bulks holds.
        await manager.query(`SELECT pg_advisory_xact_lock(hashtext('admin_bulk_operations'))`);
        const [{ running }] = (await manager.query(`SELECT count(*)::int AS running FROM admin_bulk_operations WHERE status = 'running'`)) as [
          { running: number },
        ];
        const same = (await manager.query(`SELECT id FROM admin_bulk_operations WHERE status = 'running' AND filter_key = $1`, [filterKey])) as {
          id: string;
        }[];
        if (same[0]) throw new ConflictException({ message: `a bulk ${request.action} with this filter is already running: ${same[0].id}`, errors: [] });
        if (running >= BULK_LIMITS.maxRunning) {
          throw new ConflictException({
            message: `${running} bulk operations are running, the most at once; wait for one to finish or cancel one`,
            errors: [],
          });
        }
        const ids = await selectedSagaIds(manager, selectionOf(filter), BULK_LIMITS.maxSagas + 1);
        if (ids.length > BULK_LIMITS.maxSagas) {
          throw new BadRequestException({
            message: `the filter matches more than ${BULK_LIMITS.maxSagas} sagas, the most one bulk operation may select; narrow it (e.g. createdBefore)`,
            errors: [{ field: 'filter', message: `matches more than ${BULK_LIMITS.maxSagas} sagas` }],
          });
        }
        await manager.query(
          `INSERT INTO admin_bulk_operations (id, action, status, operator, filter, filter_key, reason, rate_per_second, selected, runner, heartbeat_at, created_at, updated_at)
           VALUES ($1, $2, 'running', $3, $4, $5, $6, $7, $8, $9, now(), now(), now())`,
          [id, request.action, operator, JSON.stringify(filter), filterKey, request.reason ?? null, rate, ids.length, this.runner.runnerId],
        );
        await manager.query(
          `INSERT INTO admin_bulk_operation_items (bulk_id, position, saga_id) SELECT $1, ordinality, saga_id FROM unnest($2::uuid[]) WITH ORDINALITY AS s (saga_id, ordinality)`,
          [id, ids],
        );
        await this.audit.record(
          {
            operator,
            action: `bulk-${request.action}`,
            outcome: 'started',
            bulkId: id,
            filter,
            reason: request.reason ?? null,
            detail: `${ids.length} sagas selected, ${rate} per second`,
          },
          manager,
        );
      });
    } catch (error) {
      if (error instanceof ConflictException || (error as { code?: string }).code === UNIQUE_VIOLATION) {
        this.metrics.operations.inc({ action: request.action, outcome: 'refused' });
        await this.audit
          .record({ operator, action: `bulk-${request.action}`, outcome: 'refused', filter, reason: request.reason ?? null, detail: conflictMessage(error) })
          .catch(() => undefined);
        if (error instanceof ConflictException) throw error;
        throw new ConflictException({ message: `a bulk ${request.action} with this filter is already running`, errors: [] });
      }
      throw error;
    }
    this.metrics.operations.inc({ action: request.action, outcome: 'started' });
    this.runner.run(id);
    return this.get(id);
  }

  async get(id: string): Promise<BulkOperation> {
    const rows = (await this.dataSource.query(`SELECT ${BULK_COLUMNS} FROM admin_bulk_operations b WHERE b.id = $1`, [id])) as BulkRow[];
    if (!rows[0]) throw new NotFoundException({ message: `no bulk operation ${id}`, errors: [] });
    return bulkViewOf(rows[0]);
  }

  /** Newest first; the cursor is `<created_at in µs>.<id>` of the last row. */
  async list(query: PageQuery): Promise<BulkOperationPage> {
    const parameters: unknown[] = [query.limit + 1];
    let where = '';
    if (query.cursor) {
      const [micros, id] = query.cursor.split('.');
      parameters.push(Number(micros) / 1e6, id);
      where = `WHERE (b.created_at, b.id) < (to_timestamp($2), $3::uuid)`;
    }
    const rows = (await this.dataSource.query(
      `SELECT ${BULK_COLUMNS}, (extract(epoch FROM b.created_at) * 1000000)::bigint::text AS cursor_at FROM admin_bulk_operations b ${where} ORDER BY b.created_at DESC, b.id DESC LIMIT $1`,
      parameters,
    )) as (BulkRow & { cursor_at: string })[];
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return { items: page.map(bulkViewOf), nextCursor: rows.length > query.limit && last ? `${last.cursor_at}.${last.id}` : null };
  }

  /** The selected sagas in the order they are handled, with their outcome; keyset by position. */
  async items(id: string, query: BulkItemsQuery): Promise<BulkItemPage> {
    await this.get(id);
    const parameters: unknown[] = [id, query.limit + 1, Number(query.cursor ?? 0)];
    const outcome = query.outcome ? `AND outcome = $${parameters.push(query.outcome)}` : '';
    const rows = (await this.dataSource.query(
      `SELECT position, saga_id, outcome, detail, at FROM admin_bulk_operation_items WHERE bulk_id = $1 AND position > $3 ${outcome} ORDER BY position LIMIT $2`,
      parameters,
    )) as { position: number; saga_id: string; outcome: BulkItemPage['items'][number]['outcome']; detail: string | null; at: Date | null }[];
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return {
      items: page.map((row) => ({ sagaId: row.saga_id, outcome: row.outcome, detail: row.detail, at: row.at?.toISOString() ?? null })),
      nextCursor: rows.length > query.limit && last ? String(last.position) : null,
    };
  }

  /** Stops a running bulk (its runner sees it before its next saga); a finished one is answered as it is. */
  async cancel(id: string, operator: string): Promise<BulkOperation> {
    const before = await this.get(id);
    const cancelled = (await this.dataSource.query(
      `UPDATE admin_bulk_operations SET status = 'cancelled', finished_at = now(), updated_at = now(), runner = NULL WHERE id = $1 AND status = 'running' RETURNING id`,
      [id],
    )) as unknown;
    const changed = rowsChanged(cancelled) > 0;
    await this.audit.record({
      operator,
      action: 'bulk-cancel',
      outcome: changed ? 'accepted' : 'refused',
      bulkId: id,
      filter: before.filter,
      detail: changed ? `cancelled with ${before.pending} sagas not handled` : `already ${before.status}`,
    });
    if (changed) this.metrics.operations.inc({ action: before.action, outcome: 'cancelled' });
    return this.get(id);
  }
}

function conflictMessage(error: unknown): string {
  if (error instanceof ConflictException) {
    const response = error.getResponse();
    if (typeof response === 'object' && response !== null && typeof (response as { message?: unknown }).message === 'string')
      return (response as { message: string }).message;
  }
  return 'a bulk operation with this action and filter is already running';
}
