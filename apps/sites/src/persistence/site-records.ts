import type { EntityManager } from 'typeorm';
import { HOLDING_STATUSES, type SiteStatus, TRANSITIONS } from '../domain/site-status';

/**
 * The SQL of the `sites` and `site_requests` tables, run in the caller's transaction.
 * Writes are single conditional statements, so concurrent commands serialise on the row
 * and on the unique indexes instead of racing a read.
 */

export interface SiteView {
  readonly id: string;
  readonly name: string;
  readonly domain: string;
  readonly tagline: string | null;
  readonly adminEmail: string | null;
  readonly status: SiteStatus;
  readonly sagaId: string;
  /** Why a request never became a live site (reservation refused or released). */
  readonly reason: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** The client that asked for the site; null for an operator's or a Kafka command's. */
  readonly clientId: string | null;
  /** created_at in microseconds, as text: the list cursor (a Date would lose the microseconds). */
  readonly createdUs: string;
}

const holding = HOLDING_STATUSES.map((status) => `'${status}'`).join(', ');

/** TypeORM answers an UPDATE … RETURNING with `[rows, count]` on Postgres. */
const updatedRows = <T>(result: unknown): T[] => (Array.isArray(result) && Array.isArray(result[0]) ? (result[0] as T[]) : (result as T[]));

export async function findSiteStatus(manager: EntityManager, id: string): Promise<{ name: string; domain: string; status: SiteStatus } | null> {
  const rows: { name: string; domain: string; status: SiteStatus }[] = await manager.query(`SELECT name, domain, status FROM sites WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

/** Inserts a PENDING site; false when a unique index (id, live name or live domain) refused it. */
export async function insertPendingSite(
  manager: EntityManager,
  site: { id: string; name: string; domain: string; tagline: string | null; adminEmail: string | null; sagaId: string },
): Promise<boolean> {
  // No conflict target: every unique index arbitrates, the partial ones included. A
  // concurrent insert of the same name waits for the other transaction, then yields.
  const rows: unknown[] = await manager.query(
    `INSERT INTO sites (id, name, domain, tagline, admin_email, status, saga_id) VALUES ($1, $2, $3, $4, $5, 'PENDING', $6)
     ON CONFLICT DO NOTHING RETURNING id`,
    [site.id, site.name, site.domain, site.tagline, site.adminEmail, site.sagaId],
  );
  return rows.length === 1;
}

/** Which of `name` and `domain` a live site (other than `exceptId`) holds. */
export async function liveHolders(manager: EntityManager, name: string, domain: string, exceptId?: string): Promise<{ name: boolean; domain: boolean }> {
  const rows: { name_taken: boolean; domain_taken: boolean }[] = await manager.query(
    `SELECT
       EXISTS (SELECT 1 FROM sites WHERE name = $1 AND status IN (${holding}) AND id IS DISTINCT FROM $3) AS name_taken,
       EXISTS (SELECT 1 FROM sites WHERE domain = $2 AND status IN (${holding}) AND id IS DISTINCT FROM $3) AS domain_taken`,
    [name, domain, exceptId ?? null],
  );
  return { name: rows[0]?.name_taken ?? false, domain: rows[0]?.domain_taken ?? false };
}

/**
 * Which of `name` and `domain` a live site or an open request (accepted, not yet
 * reserved, not refused) holds: the HTTP fast check, so a double POST gets a 409 at once.
 */
export async function heldByLiveSiteOrOpenRequest(manager: EntityManager, name: string, domain: string): Promise<{ name: boolean; domain: boolean }> {
  const open = `FROM site_requests r WHERE r.rejection IS NULL AND NOT EXISTS (SELECT 1 FROM sites s WHERE s.id = r.site_id)`;
  const rows: { name_taken: boolean; domain_taken: boolean }[] = await manager.query(
    `SELECT
       EXISTS (SELECT 1 FROM sites WHERE name = $1 AND status IN (${holding})) OR EXISTS (SELECT 1 ${open} AND r.name = $1) AS name_taken,
       EXISTS (SELECT 1 FROM sites WHERE domain = $2 AND status IN (${holding})) OR EXISTS (SELECT 1 ${open} AND r.domain = $2) AS domain_taken`,
    [name, domain],
  );
  return { name: rows[0]?.name_taken ?? false, domain: rows[0]?.domain_taken ?? false };
}

/**
 * Moves a site along one transition when its status allows it. Returns the site's domain
 * when it moved (or already stood in the target status), null otherwise.
 */
export async function transitionSite(
  manager: EntityManager,
  id: string,
  transition: keyof typeof TRANSITIONS,
  sagaId: string,
): Promise<{ domain: string } | null> {
  const { from, to } = TRANSITIONS[transition];
  const rows = updatedRows<{ domain: string }>(
    await manager.query(
      `UPDATE sites SET status = $2, saga_id = $3, updated_at = CASE WHEN status = $2 THEN updated_at ELSE now() END
       WHERE id = $1 AND status = ANY($4::text[]) RETURNING domain`,
      [id, to, sagaId, from],
    ),
  );
  return rows[0] ?? null;
}

/** Marks an accepted request as refused or released, so GET stops showing it PENDING and its name is free. */
export async function closeRequest(manager: EntityManager, siteId: string, reason: string): Promise<void> {
  await manager.query(`UPDATE site_requests SET rejection = $2 WHERE site_id = $1 AND rejection IS NULL`, [siteId, reason.slice(0, 500)]);
}

const VIEW = `
  SELECT s.id, s.name, s.domain, s.tagline, s.admin_email AS "adminEmail", s.status, s.saga_id AS "sagaId", NULL AS reason,
         s.created_at AS "createdAt", s.updated_at AS "updatedAt",
         (SELECT r.client_id FROM site_requests r WHERE r.site_id = s.id) AS "clientId",
         (extract(epoch FROM s.created_at) * 1000000)::bigint::text AS "createdUs"
  FROM sites s
  UNION ALL
  SELECT r.site_id, r.name, r.domain, r.tagline, r.admin_email, CASE WHEN r.rejection IS NULL THEN 'PENDING' ELSE 'FAILED' END, r.site_id, r.rejection,
         r.created_at, r.created_at, r.client_id, (extract(epoch FROM r.created_at) * 1000000)::bigint::text
  FROM site_requests r WHERE NOT EXISTS (SELECT 1 FROM sites s WHERE s.id = r.site_id)`;

/** A site as clients see it: its record, or its accepted request until ReserveSite lands. */
export async function viewSite(manager: EntityManager, id: string): Promise<SiteView | null> {
  const rows: SiteView[] = await manager.query(`SELECT * FROM (${VIEW}) v WHERE v.id = $1`, [id]);
  return rows[0] ?? null;
}

/** Where a page of the list ends: the last item's creation time (microseconds) and id. */
export interface ListCursor {
  readonly createdUs: string;
  readonly id: string;
}

export interface ListFilter {
  readonly status?: SiteStatus;
  readonly limit: number;
  /** Only this client's sites; every site when absent (an operator). */
  readonly clientId?: string;
  /** The page after this position (newest first). */
  readonly after?: ListCursor;
}

/** Newest first, `limit` items after the cursor: a keyset page, stable while sites are added. */
export async function listSites(manager: EntityManager, filter: ListFilter): Promise<SiteView[]> {
  return manager.query(
    `SELECT * FROM (${VIEW}) v
     WHERE ($1::text IS NULL OR v.status = $1)
       AND ($3::text IS NULL OR v."clientId" = $3)
       AND ($4::bigint IS NULL OR (v."createdUs"::bigint, v.id) < ($4::bigint, $5::uuid))
     ORDER BY v."createdUs"::bigint DESC, v.id DESC LIMIT $2`,
    [filter.status ?? null, filter.limit, filter.clientId ?? null, filter.after?.createdUs ?? null, filter.after?.id ?? null],
  );
}

/** How much of its quotas a client has used: creations in the last minute, and sites it holds. */
export async function clientUsage(manager: EntityManager, clientId: string): Promise<{ lastMinute: number; retryAfterSeconds: number; liveSites: number }> {
  const rows: { last_minute: number; retry_after: string | null; live_sites: number }[] = await manager.query(
    `SELECT
       (SELECT count(*) FROM site_requests WHERE client_id = $1 AND created_at > now() - interval '1 minute')::int AS last_minute,
       (SELECT ceil(extract(epoch FROM min(created_at) + interval '1 minute' - now()))::text
          FROM site_requests WHERE client_id = $1 AND created_at > now() - interval '1 minute') AS retry_after,
       (SELECT count(*) FROM site_requests r WHERE r.client_id = $1 AND r.rejection IS NULL
          AND NOT EXISTS (SELECT 1 FROM sites s WHERE s.id = r.site_id AND s.status IN ('FAILED', 'DELETED')))::int AS live_sites`,
    [clientId],
  );
  const row = rows[0];
  return { lastMinute: row?.last_minute ?? 0, retryAfterSeconds: Math.max(1, Number(row?.retry_after ?? 1)), liveSites: row?.live_sites ?? 0 };
}
