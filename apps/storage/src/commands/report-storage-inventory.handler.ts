import { type Envelope, type InventoryItem, type PayloadOf, ReportStorageInventory } from '@sitesaga/contracts';
import { HandlesMessage, UnitOfWork } from '@sitesaga/messaging';
import { SiteDirectories } from '../disk/site-directories';

/**
 * One page of what storage holds, for the orchestrator's orphan audit and site view:
 * `records` (storage_records, by site id) or `directories` (the entries of STORAGE_ROOT,
 * by name; the dot-named staging leftovers are the sweeper's, not sites). Read-only.
 */
@HandlesMessage(ReportStorageInventory)
export class ReportStorageInventoryHandler {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly directories: SiteDirectories,
  ) {}

  async handle(command: Envelope<PayloadOf<typeof ReportStorageInventory>>): Promise<void> {
    await this.unitOfWork.handleCommand(command, async (tx) => {
      const { requestId, source, after, limit, match } = command.payload;
      // A match by name or domain alone is the sites service's: nothing here is known by them.
      const only = match ? (match.siteId ?? NO_SITE) : null;
      if (source === 'directories') {
        const page = only !== null ? await this.directories.listOne(only) : await this.directories.list(after, limit);
        tx.reply(ReportStorageInventory.succeeded, { requestId, source, items: page.items, nextCursor: page.nextCursor });
        return;
      }
      const rows: { site_id: string; status: string; saga_id: string; updated_at: Date }[] = await tx.manager.query(
        `SELECT site_id, status, saga_id, updated_at FROM storage_records WHERE ($1::uuid IS NULL OR site_id > $1::uuid) AND ($3::uuid IS NULL OR site_id = $3::uuid) ORDER BY site_id LIMIT $2`,
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
      tx.reply(ReportStorageInventory.succeeded, {
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
