import type { EntityManager } from 'typeorm';
import { SAGA_STATUSES, type SagaState, type SagaStatus } from '../saga-state';
import { type Deployment, type SagaStore, type StoredHistoryEntry, WAITING_FOR } from './saga-store';

/*
 * The engine's read side, for people (an admin endpoint, a CLI): list with filters and a
 * cursor, one saga with its history, changes since a moment, counts and latencies. Hosts
 * read saga state through these, never by SQL on the engine's tables. Each is one
 * statement bounded by a LIMIT or by the newest sagas:
 * - the list walks saga_instances_created_at_idx (created_at, id) backwards from the
 *   cursor; a status filter can use saga_instances_status_created_at_idx and a search key
 *   saga_instances_search_key_idx;
 * - per row, the waiting steps come from saga_steps by its primary key (saga_id, name);
 * - stats read the newest `window` sagas by the created_at index and their steps by key;
 *   the counts by status come from saga_status_counts, kept as sagas change.
 */

type Queryable = Pick<EntityManager, 'query'>;

/** Where the next page starts: just after (createdAt, id) in newest-first order. */
export interface SagaCursor {
  /** UTC timestamp with microseconds, as Postgres keeps it: `2024-11-23T10:00:00.123456`. */
  readonly createdAt: string;
  readonly id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/;

/** The opaque cursor: base64url of `<createdAt>|<id>`. */
export const encodeSagaCursor = (cursor: SagaCursor): string => Buffer.from(`${cursor.createdAt}|${cursor.id}`, 'utf8').toString('base64url');

/** The cursor `encodeSagaCursor` made, or null for anything else. */
export function decodeSagaCursor(value: string): SagaCursor | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(value)) return null;
  const [createdAt, id, ...rest] = Buffer.from(value, 'base64url').toString('utf8').split('|');
  if (rest.length > 0 || !createdAt || !id || !CURSOR_TIME.test(createdAt) || !UUID.test(id)) return null;
  return { createdAt, id: id.toLowerCase() };
}

export interface SagaListFilter {
  readonly status?: SagaStatus;
  readonly type?: string;
  /** Exact search key (what the definition's `searchKey` gave, e.g. a name). */
  readonly searchKey?: string;
  readonly limit: number;
  readonly cursor?: SagaCursor;
  /** Top-level fields of the saga data to hand back per row (`dataFields`), e.g. an id the host shows. */
  readonly dataFields?: readonly string[];
}

/** A saga as a list shows it: its row, not its steps. */
export interface SagaListing {
  readonly id: string;
  readonly type: string;
  readonly status: SagaStatus;
  readonly version: number;
  readonly searchKey: string | null;
  /** The requested top-level data fields, as text (null when absent). */
  readonly dataFields: Readonly<Record<string, string | null>>;
  readonly failedStep: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** The steps it waits on (forward or compensating), by stage then name. */
  readonly waitingOn: readonly string[];
  /** The version of its definition it started on. */
  readonly definitionVersion: number;
  /** The saga holding the exclusion key it waits for, or null. */
  readonly waitingFor: string | null;
}

export interface SagaListPage {
  readonly items: SagaListing[];
  /** Pass back as `cursor` (decoded) for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

const LISTING_COLUMNS = `
  i.id, i.type, i.status, i.version, i.definition_version, ${WAITING_FOR} AS waiting_for,
  i.search_key, i.failure ->> 'failedStep' AS failed_step, i.created_at, i.updated_at,
  (SELECT coalesce(jsonb_object_agg(f, i.data ->> f), '{}'::jsonb) FROM unnest($1::text[]) AS f) AS data_fields,
  to_char(i.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS cursor_at,
  ARRAY(SELECT s.name FROM saga_steps s
         WHERE s.saga_id = i.id AND s.state IN ('RUNNING', 'COMPENSATING') ORDER BY s.position, s.name) AS waiting_on`;

interface ListingRow {
  id: string;
  type: string;
  status: SagaStatus;
  version: number;
  definition_version: number;
  waiting_for: string | null;
  search_key: string | null;
  failed_step: string | null;
  created_at: Date;
  updated_at: Date;
  data_fields: Record<string, string | null>;
  cursor_at: string;
  waiting_on: string[];
}

const listingOf = (row: ListingRow): SagaListing => ({
  id: row.id,
  type: row.type,
  status: row.status,
  version: row.version,
  searchKey: row.search_key,
  dataFields: row.data_fields,
  failedStep: row.failed_step,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  waitingOn: row.waiting_on,
  definitionVersion: row.definition_version,
  waitingFor: row.waiting_for,
});

/** Newest first, (created_at, id) keyset pagination. */
export async function listSagas(manager: Queryable, filter: SagaListFilter): Promise<SagaListPage> {
  const parameters: unknown[] = [filter.dataFields ?? []];
  const conditions: string[] = [];
  const parameter = (value: unknown): string => `$${parameters.push(value)}`;
  if (filter.status) conditions.push(`i.status = ${parameter(filter.status)}`);
  if (filter.type) conditions.push(`i.type = ${parameter(filter.type)}`);
  if (filter.searchKey) conditions.push(`i.search_key = ${parameter(filter.searchKey)}`);
  if (filter.cursor) {
    conditions.push(`(i.created_at, i.id) < (${parameter(filter.cursor.createdAt)}::timestamp AT TIME ZONE 'UTC', ${parameter(filter.cursor.id)}::uuid)`);
  }
  const rows = (await manager.query(
    `SELECT ${LISTING_COLUMNS}
       FROM saga_instances i
      ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''}
      ORDER BY i.created_at DESC, i.id DESC
      LIMIT ${parameter(filter.limit + 1)}`,
    parameters,
  )) as ListingRow[];
  const page = rows.slice(0, filter.limit);
  const last = page[page.length - 1];
  return {
    items: page.map(listingOf),
    nextCursor: rows.length > filter.limit && last ? encodeSagaCursor({ createdAt: last.cursor_at, id: last.id }) : null,
  };
}

/** These sagas (those that exist), in no particular order. */
export async function sagasById(manager: Queryable, ids: readonly string[], dataFields: readonly string[] = []): Promise<SagaListing[]> {
  if (ids.length === 0) return [];
  const rows = (await manager.query(`SELECT ${LISTING_COLUMNS} FROM saga_instances i WHERE i.id = ANY($2::uuid[])`, [dataFields, ids])) as ListingRow[];
  return rows.map(listingOf);
}

/** Sagas changed after `since`, oldest change first (site-saga's saga_instances_updated_at_idx serves it), for a live view that someone watches. */
export async function sagasChangedSince(manager: Queryable, since: Date, limit: number, dataFields: readonly string[] = []): Promise<SagaListing[]> {
  const rows = (await manager.query(`SELECT ${LISTING_COLUMNS} FROM saga_instances i WHERE i.updated_at > $2 ORDER BY i.updated_at LIMIT $3`, [
    dataFields,
    since,
    limit,
  ])) as ListingRow[];
  return rows.map(listingOf);
}

/** One saga with its steps and the first `historyLimit` history entries; null when there is no such saga. */
export async function findSagaWithHistory<D = unknown>(
  manager: EntityManager,
  store: SagaStore,
  id: string,
  historyLimit: number,
): Promise<{ state: SagaState<D>; history: StoredHistoryEntry[]; historyTruncated: boolean } | null> {
  const [state, history] = await Promise.all([store.load<D>(manager, id), store.history(manager, id, historyLimit + 1)]);
  if (!state) return null;
  return { state, history: history.slice(0, historyLimit), historyTruncated: history.length > historyLimit };
}

export interface LatencyFigures {
  readonly count: number;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly p99Ms: number | null;
}

export interface SagaStatistics {
  /** Every status, zero included. */
  readonly byStatus: Record<string, number>;
  readonly byType: Record<string, Record<string, number>>;
  /** Latency of SUCCEEDED steps (first send → success, retries included) among the newest sagas, by step name. */
  readonly steps: (LatencyFigures & { readonly name: string })[];
  /** Creation → completion of the COMPLETED sagas among the newest. */
  readonly sagaDurations: LatencyFigures;
  /** What the latency figures cover: the newest `sagas` sagas, created since `since`. */
  readonly window: { readonly sagas: number; readonly since: string | null };
}

const PERCENTILES = `percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY ms)`;
const round = (value: number | null | undefined): number | null => (value === null || value === undefined ? null : Math.round(value));
const figures = (count: number | string, percentiles: (number | null)[] | null): LatencyFigures => ({
  count: Number(count),
  p50Ms: round(percentiles?.[0]),
  p95Ms: round(percentiles?.[1]),
  p99Ms: round(percentiles?.[2]),
});

export interface SagaStatusCount {
  readonly type: string;
  readonly status: SagaStatus;
  readonly count: number;
}

/** How many deltas one fold moves at most: a backlog is folded over a few calls, each short. */
export const SAGA_COUNT_FOLD_LIMIT = 50_000;

/**
 * Moves up to `limit` deltas into the counts (skipping any another fold holds), then runs
 * `select`. Counts rows are updated in (type, status) order: two folds (two replicas) wait
 * for each other, never deadlock.
 */
const foldThen = (select: string, limit: number): string => `
  WITH moved AS (
         DELETE FROM saga_status_deltas
          WHERE ctid = ANY (ARRAY(SELECT ctid FROM saga_status_deltas LIMIT ${Math.max(1, Math.floor(limit))} FOR UPDATE SKIP LOCKED))
         RETURNING type, status, delta),
       folded AS (
         INSERT INTO saga_status_counts AS c (type, status, count)
         SELECT type, status, sum(delta) FROM moved GROUP BY type, status ORDER BY type, status
         ON CONFLICT (type, status) DO UPDATE SET count = c.count + excluded.count)
  ${select}`;

/**
 * How many sagas there are of each type and status (none: left out), from the counts the
 * engine keeps as sagas change (migration 1764770000000): it costs the same at a million
 * sagas as at ten. Every statement sees one snapshot, so the counts and the deltas not yet
 * folded into them add up to exactly what that snapshot holds; the statement folds the
 * deltas it read as it goes.
 */
export async function sagaStatusCounts(manager: Queryable): Promise<SagaStatusCount[]> {
  const rows = (await manager.query(
    foldThen(
      `SELECT type, status, sum(count)::float8 AS count
         FROM (SELECT type, status, count FROM saga_status_counts UNION ALL SELECT type, status, delta FROM saga_status_deltas) everything
        GROUP BY type, status HAVING sum(count) <> 0
        ORDER BY type, status`,
      SAGA_COUNT_FOLD_LIMIT,
    ),
  )) as { type: string; status: SagaStatus; count: number }[];
  return rows.map((row) => ({ type: row.type, status: row.status, count: Number(row.count) }));
}

/**
 * Folds up to `limit` status deltas into the counts; how many it folded. Reads fold as they
 * go; a host calls this on a timer too, so that deltas never pile up while nobody reads.
 */
export async function foldSagaStatusCounts(manager: Queryable, limit = SAGA_COUNT_FOLD_LIMIT): Promise<number> {
  const rows = (await manager.query(foldThen(`SELECT count(*)::int AS folded FROM moved`, limit))) as { folded: number }[];
  return rows[0]?.folded ?? 0;
}

/**
 * Per type and status still under way (RUNNING, COMPENSATING): how long, in seconds, the
 * saga changed least recently has gone without a change. Reads only the sagas under way
 * (saga_instances_status_created_at_idx), few however long the history.
 */
export async function oldestIdleSagas(manager: Queryable): Promise<{ type: string; status: SagaStatus; idleSeconds: number }[]> {
  const rows = (await manager.query(
    `SELECT type, status, greatest(0, extract(epoch FROM now() - min(updated_at)))::float8 AS idle
       FROM saga_instances WHERE status IN ('RUNNING', 'COMPENSATING') GROUP BY type, status`,
  )) as { type: string; status: SagaStatus; idle: number }[];
  return rows.map((row) => ({ type: row.type, status: row.status, idleSeconds: row.idle }));
}

/** Counts of every saga by status and type; latencies over the newest `window` sagas. */
export async function sagaStatistics(manager: Queryable, window: number): Promise<SagaStatistics> {
  const newest = `SELECT %COLUMNS% FROM saga_instances ORDER BY created_at DESC, id DESC LIMIT ${Math.max(1, Math.floor(window))}`;
  const [counts, steps, durations] = await Promise.all([
    sagaStatusCounts(manager),
    manager.query(
      `WITH recent AS (${newest.replace('%COLUMNS%', 'id')}),
            timed AS (
              SELECT s.name, extract(epoch FROM s.finished_at - s.started_at) * 1000 AS ms
                FROM recent JOIN saga_steps s ON s.saga_id = recent.id
               WHERE s.state = 'SUCCEEDED' AND s.started_at IS NOT NULL AND s.finished_at IS NOT NULL)
       SELECT name, count(*)::int AS count, ${PERCENTILES} AS percentiles FROM timed GROUP BY name ORDER BY name`,
    ) as Promise<{ name: string; count: number; percentiles: (number | null)[] | null }[]>,
    manager.query(
      `WITH recent AS (${newest.replace('%COLUMNS%', 'status, created_at, updated_at')})
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
  };
}

/** Sagas not ended (RUNNING, COMPENSATING, or FAILED and resumable) whose definition version is not deployed. */
export interface UndeployedVersion {
  readonly type: string;
  readonly definitionVersion: number;
  readonly count: number;
  /** Some of them (the oldest `sample`), to name in a log line. */
  readonly sagaIds: readonly string[];
}

/**
 * Per type and version not in `deployment` (types it does not run at all are left out:
 * they are set aside on their first reply), how many unended sagas started on it.
 */
export async function sagasOnUndeployedVersions(manager: Queryable, deployment: Deployment, sample = 10): Promise<UndeployedVersion[]> {
  const rows = (await manager.query(
    `SELECT type, definition_version, count(*)::int AS count, (array_agg(id ORDER BY created_at, id))[1:$3] AS saga_ids
       FROM saga_instances
      WHERE status IN ('RUNNING', 'COMPENSATING', 'FAILED') AND type = ANY($1::text[]) AND NOT ((type || '@' || definition_version) = ANY($2::text[]))
      GROUP BY type, definition_version
      ORDER BY type, definition_version`,
    [deployment.types, deployment.deployed, sample],
  )) as { type: string; definition_version: number; count: number; saga_ids: string[] }[];
  return rows.map((row) => ({ type: row.type, definitionVersion: row.definition_version, count: row.count, sagaIds: row.saga_ids }));
}
