import { type Envelope, type InventoryItem, type PayloadOf, ReportDatabaseInventory, siteDatabaseNames } from '@sitesaga/contracts';
import { HandlesMessage, UnitOfWork } from '@sitesaga/messaging';
import { SiteDatabaseServer } from '../site-server/site-database-server';

/**
 * One page of what databases holds, for the orchestrator's orphan audit and site view:
 * `records` (database_records, by site id), or the site `databases` or login `roles` on
 * the site server (by name; spares and templates of the warm pool are not sites and are
 * never listed). Read-only.
 */
@HandlesMessage(ReportDatabaseInventory)
export class ReportDatabaseInventoryHandler {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly server: SiteDatabaseServer,
  ) {}

  async handle(command: Envelope<PayloadOf<typeof ReportDatabaseInventory>>): Promise<void> {
    await this.unitOfWork.handleCommand(command, async (tx) => {
      const { requestId, source, after, limit, match } = command.payload;
      // A match by name or domain alone is the sites service's: nothing here is known by them.
      const only = match ? (match.siteId ?? NO_SITE) : null;
      if (source === 'databases' || source === 'roles') {
        const names = await this.server.listSiteObjects(source, after, limit + 1, only === null ? null : siteDatabaseNames(only).databaseName);
        const page = names.slice(0, limit);
        const items: InventoryItem[] = page.map((name) => ({ name, siteId: siteIdOfName(name), status: null, sagaId: null }));
        tx.reply(ReportDatabaseInventory.succeeded, { requestId, source, items, nextCursor: names.length > limit ? (page[page.length - 1] ?? null) : null });
        return;
      }
      const rows: { site_id: string; status: string; saga_id: string | null; updated_at: Date }[] = await tx.manager.query(
        `SELECT site_id, status, saga_id, updated_at FROM database_records WHERE ($1::uuid IS NULL OR site_id > $1::uuid) AND ($3::uuid IS NULL OR site_id = $3::uuid) ORDER BY site_id LIMIT $2`,
        [uuidOrNull(after), limit + 1, only],
      );
      const page = rows.slice(0, limit);
      const items: InventoryItem[] = page.map((row) => ({
        name: row.site_id,
        siteId: row.site_id,
        status: row.status,
        sagaId: row.saga_id,
        updatedAt: row.updated_at.toISOString(),
      }));
      tx.reply(ReportDatabaseInventory.succeeded, {
        requestId,
        source,
        items,
        nextCursor: rows.length > limit ? (page[page.length - 1]?.site_id ?? null) : null,
      });
    });
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Matches no record: a match that names no site id. */
const NO_SITE = '00000000-0000-0000-0000-000000000000';
const uuidOrNull = (value: string | null): string | null => (value !== null && UUID.test(value) ? value : null);

/** `site_` + 32 hex digits → the site id they spell (siteDatabaseNames in reverse). */
export function siteIdOfName(name: string): string | null {
  const hex = /^site_([0-9a-f]{32})$/.exec(name)?.[1];
  return hex ? `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}` : null;
}
