import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { type ParkedDeadLetter, type ParkedOutboxMessage, parkedDeadLetters, parkedOutboxMessages } from '@sitesaga/messaging';
import { SAGA_STATUSES, type SagaStatus } from '@sitesaga/saga';
import type { DataSource } from 'typeorm';
import { encodeCursor, type ListQuery } from './admin-request-validation';
import type { SagaSummary } from './saga-views';

/*
 * The admin's reads, in plain SQL over the saga tables (the engine's store writes them the
 * same way). Each is one statement, bounded by a LIMIT or by the newest sagas:
 * - the list walks saga_instances_created_at_idx (created_at, id) backwards from the
 *   cursor; a status filter can use saga_instances_status_created_at_idx and a site name
 *   saga_instances_search_key_idx;
 * - per row, the waiting step comes from saga_steps by its primary key (saga_id, name);
 * - stats read the newest STATS_WINDOW sagas by the created_at index and their steps by key.
 */
const SUMMARY_COLUMNS = `
  i.id, i.type, i.status, i.version, i.search_key, i.data ->> 'siteId' AS site_id, i.failure ->> 'failedStep' AS failed_step,
  i.created_at, i.updated_at,
  to_char(i.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS cursor_at,
  (SELECT string_agg(s.name, ', ' ORDER BY s.position, s.name)
     FROM saga_steps s
    WHERE s.saga_id = i.id AND s.state IN ('RUNNING', 'COMPENSATING')) AS current_step`;

interface SummaryRow {
  id: string;
  type: string;
  status: SagaStatus;
  version: number;
  search_key: string | null;
  site_id: string | null;
  failed_step: string | null;
  created_at: Date;
  updated_at: Date;
  cursor_at: string;
  current_step: string | null;
}

const summaryOfRow = (row: SummaryRow): SagaSummary => ({
  id: row.id,
  type: row.type,
  status: row.status,
  version: row.version,
  siteName: row.search_key,
  siteId: row.site_id,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
  currentStep: row.current_step,
  ...(row.failed_step !== null ? { failedStep: row.failed_step } : {}),
});

export interface SagaPage {
  readonly items: SagaSummary[];
  readonly nextCursor: string | null;
}

/** A changed saga as the stream's poll sees it. */
export interface ChangedSaga {
  readonly summary: SagaSummary;
  readonly updatedAt: Date;
}

export interface LatencyFigures {
  readonly count: number;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly p99Ms: number | null;
}

/** What the orchestrator's line moved past instead of stopping (GET /admin/parked). */
export interface ParkedMessages {
  readonly deadLetters: readonly ParkedDeadLetter[];
  readonly outbox: readonly ParkedOutboxMessage[];
}

export interface SagaStats {
  readonly byStatus: Record<string, number>;
  readonly byType: Record<string, Record<string, number>>;
  readonly steps: (LatencyFigures & { readonly name: string })[];
  readonly sagaDurations: LatencyFigures;
  /** What the latency figures cover: the newest `sagas` sagas, created since `since`. */
  readonly window: { readonly sagas: number; readonly since: string | null };
  readonly generatedAt: string;
}

/** Latencies are taken over the steps of this many newest sagas (≈ 10k steps for create-site). */
export const STATS_WINDOW = 2000;

const PERCENTILES = `percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY ms)`;

const round = (value: number | null | undefined): number | null => (value === null || value === undefined ? null : Math.round(value));
const figures = (count: number | string, percentiles: (number | null)[] | null): LatencyFigures => ({
  count: Number(count),
  p50Ms: round(percentiles?.[0]),
  p95Ms: round(percentiles?.[1]),
  p99Ms: round(percentiles?.[2]),
});

/** Stats are reused this long: many open pages cost one set of queries (the page asks 1.5 s after a change). */
const STATS_REUSE_MS = 1_000;

@Injectable()
export class SagaQueries {
  private cachedStats: { at: number; stats: Promise<SagaStats> } | null = null;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  recentStats(now = Date.now()): Promise<SagaStats> {
    if (this.cachedStats && now - this.cachedStats.at < STATS_REUSE_MS) return this.cachedStats.stats;
    const stats = this.stats(new Date(now));
    this.cachedStats = { at: now, stats };
    stats.catch(() => {
      if (this.cachedStats?.stats === stats) this.cachedStats = null; // a failure is not reused
    });
    return stats;
  }

  /** The oldest 100 of each: the full messages stay in dead_letters and outbox_messages. */
  async parked(): Promise<ParkedMessages> {
    const [deadLetters, outbox] = await Promise.all([parkedDeadLetters(this.dataSource, 100), parkedOutboxMessages(this.dataSource, 100)]);
    return { deadLetters, outbox };
  }

  /** Newest first, (created_at, id) keyset pagination. */
  async list(query: ListQuery): Promise<SagaPage> {
    const conditions: string[] = [];
    const parameters: unknown[] = [];
    const parameter = (value: unknown): string => `$${parameters.push(value)}`;
    if (query.status) conditions.push(`i.status = ${parameter(query.status)}`);
    if (query.type) conditions.push(`i.type = ${parameter(query.type)}`);
    if (query.siteName) conditions.push(`i.search_key = ${parameter(query.siteName)}`);
    if (query.cursor) {
      conditions.push(`(i.created_at, i.id) < (${parameter(query.cursor.createdAt)}::timestamp AT TIME ZONE 'UTC', ${parameter(query.cursor.id)}::uuid)`);
    }
    const rows = (await this.dataSource.query(
      `SELECT ${SUMMARY_COLUMNS}
         FROM saga_instances i
        ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''}
        ORDER BY i.created_at DESC, i.id DESC
        LIMIT ${parameter(query.limit + 1)}`,
      parameters,
    )) as SummaryRow[];
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(summaryOfRow),
      nextCursor: rows.length > query.limit && last ? encodeCursor({ createdAt: last.cursor_at, id: last.id }) : null,
    };
  }

  async summaries(ids: readonly string[]): Promise<ChangedSaga[]> {
    if (ids.length === 0) return [];
    const rows = (await this.dataSource.query(`SELECT ${SUMMARY_COLUMNS} FROM saga_instances i WHERE i.id = ANY($1::uuid[])`, [ids])) as SummaryRow[];
    return rows.map((row) => ({ summary: summaryOfRow(row), updatedAt: row.updated_at }));
  }

  /** Sagas changed after `since`, oldest change first. No index on updated_at: a scan, run only while a stream client listens. */
  async changedSince(since: Date, limit: number): Promise<ChangedSaga[]> {
    const rows = (await this.dataSource.query(`SELECT ${SUMMARY_COLUMNS} FROM saga_instances i WHERE i.updated_at > $1 ORDER BY i.updated_at LIMIT $2`, [
      since,
      limit,
    ])) as SummaryRow[];
    return rows.map((row) => ({ summary: summaryOfRow(row), updatedAt: row.updated_at }));
  }

  async stats(now = new Date()): Promise<SagaStats> {
    const [counts, steps, durations] = await Promise.all([
      this.dataSource.query(`SELECT type, status, count(*)::int AS count FROM saga_instances GROUP BY type, status`) as Promise<
        { type: string; status: string; count: number }[]
      >,
      this.dataSource.query(
        `WITH recent AS (SELECT id FROM saga_instances ORDER BY created_at DESC, id DESC LIMIT ${STATS_WINDOW}),
              timed AS (
                SELECT s.name, extract(epoch FROM s.finished_at - s.started_at) * 1000 AS ms
                  FROM recent JOIN saga_steps s ON s.saga_id = recent.id
                 WHERE s.state = 'SUCCEEDED' AND s.started_at IS NOT NULL AND s.finished_at IS NOT NULL)
         SELECT name, count(*)::int AS count, ${PERCENTILES} AS percentiles FROM timed GROUP BY name ORDER BY name`,
      ) as Promise<{ name: string; count: number; percentiles: (number | null)[] | null }[]>,
      this.dataSource.query(
        `WITH recent AS (SELECT status, created_at, updated_at FROM saga_instances ORDER BY created_at DESC, id DESC LIMIT ${STATS_WINDOW})
         SELECT (SELECT count(*)::int FROM recent) AS window_size, (SELECT min(created_at) FROM recent) AS since,
                count(*)::int AS count, ${PERCENTILES} AS percentiles
           FROM (SELECT extract(epoch FROM updated_at - created_at) * 1000 AS ms FROM recent WHERE status = 'COMPLETED') completed`,
      ) as Promise<{ window_size: number; since: Date | null; count: number; percentiles: (number | null)[] | null }[]>,
    ]);
    const byStatus: Record<string, number> = Object.fromEntries(SAGA_STATUSES.map((status) => [status, 0]));
    const byType: Record<string, Record<string, number>> = {};
    for (const row of counts) {
      byStatus[row.status] = (byStatus[row.status] ?? 0) + row.count;
      (byType[row.type] ??= {})[row.status] = row.count;
    }
    const duration = durations[0];
    return {
      byStatus,
      byType,
      steps: steps.map((row) => ({ name: row.name, ...figures(row.count, row.percentiles) })),
      sagaDurations: figures(duration?.count ?? 0, duration?.percentiles ?? null),
      window: { sagas: duration?.window_size ?? 0, since: duration?.since?.toISOString() ?? null },
      generatedAt: now.toISOString(),
    };
  }
}
