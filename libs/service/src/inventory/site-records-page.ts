import type { EntityManager } from 'typeorm';

/** One record a participant keeps per site, as its inventory lists it (the contracts' InventoryItem). */
export interface SiteRecordItem {
  readonly name: string;
  readonly siteId: string;
  readonly status: string;
  readonly sagaId: string | null;
  readonly updatedAt: string;
}

/** What an inventory request asks of a participant's records: a page after a cursor, or only one site's. */
export interface SiteRecordsRequest {
  readonly after: string | null;
  readonly limit: number;
  /** A site view's lookup: by id here; a match by name or domain alone is the sites service's, and matches nothing else. */
  readonly match?: { readonly siteId?: string | null } | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TABLE = /^[a-z_][a-z0-9_]*$/;
/** Matches no record: a match that names no site id. */
const NO_SITE = '00000000-0000-0000-0000-000000000000';

/** The one site id a request is limited to (NO_SITE when its match names none), or null for a page of all. */
export const onlySiteOf = (request: Pick<SiteRecordsRequest, 'match'>): string | null => (request.match ? (request.match.siteId ?? NO_SITE) : null);

/**
 * A page of `table` (site_id, status, saga_id, updated_at), by site id, for the
 * orchestrator's orphan audit and site view: at most `limit` items and the cursor of the
 * next page (null on the last). Read-only; one indexed query.
 */
export async function siteRecordsPage(
  manager: Pick<EntityManager, 'query'>,
  table: string,
  request: SiteRecordsRequest,
): Promise<{ items: SiteRecordItem[]; nextCursor: string | null }> {
  if (!TABLE.test(table)) throw new Error(`invalid table name ${table}`);
  const after = request.after !== null && UUID.test(request.after) ? request.after : null;
  const rows: { site_id: string; status: string; saga_id: string | null; updated_at: Date }[] = await manager.query(
    `SELECT site_id, status, saga_id, updated_at FROM ${table}
      WHERE ($1::uuid IS NULL OR site_id > $1::uuid) AND ($3::uuid IS NULL OR site_id = $3::uuid)
      ORDER BY site_id LIMIT $2`,
    [after, request.limit + 1, onlySiteOf(request)],
  );
  const page = rows.slice(0, request.limit);
  return {
    items: page.map((row) => ({ name: row.site_id, siteId: row.site_id, status: row.status, sagaId: row.saga_id, updatedAt: row.updated_at.toISOString() })),
    nextCursor: rows.length > request.limit ? (page[page.length - 1]?.site_id ?? null) : null,
  };
}
