import { type Envelope, type InventoryItem, type PayloadOf, ReportDatabaseInventory, siteDatabaseNames } from '@sitesaga/contracts';
import { HandlesMessage, UnitOfWork } from '@sitesaga/messaging';
import { onlySiteOf, siteRecordsPage } from '@sitesaga/service';
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
      const { requestId, source, after, limit } = command.payload;
      const only = onlySiteOf(command.payload);
      if (source === 'databases' || source === 'roles') {
        const names = await this.server.listSiteObjects(source, after, limit + 1, only === null ? null : siteDatabaseNames(only).databaseName);
        const page = names.slice(0, limit);
        const items: InventoryItem[] = page.map((name) => ({ name, siteId: siteIdOfName(name), status: null, sagaId: null }));
        tx.reply(ReportDatabaseInventory.succeeded, { requestId, source, items, nextCursor: names.length > limit ? (page[page.length - 1] ?? null) : null });
        return;
      }
      tx.reply(ReportDatabaseInventory.succeeded, { requestId, source, ...(await siteRecordsPage(tx.manager, 'database_records', command.payload)) });
    });
  }
}

/** `site_` + 32 hex digits → the site id they spell (siteDatabaseNames in reverse). */
export function siteIdOfName(name: string): string | null {
  const hex = /^site_([0-9a-f]{32})$/.exec(name)?.[1];
  return hex ? `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}` : null;
}
