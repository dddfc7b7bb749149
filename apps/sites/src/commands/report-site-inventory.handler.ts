import { type Envelope, type InventoryItem, type PayloadOf, ReportSiteInventory } from '@sitesaga/contracts';
import { HandlesMessage, UnitOfWork } from '@sitesaga/messaging';

/**
 * One page of the site records, by id, for the orchestrator's orphan audit and site view:
 * read-only (the inbox row and the reply are all it writes).
 */
@HandlesMessage(ReportSiteInventory)
export class ReportSiteInventoryHandler {
  constructor(private readonly unitOfWork: UnitOfWork) {}

  async handle(command: Envelope<PayloadOf<typeof ReportSiteInventory>>): Promise<void> {
    await this.unitOfWork.handleCommand(command, async (tx) => {
      const { requestId, source, after, limit, match } = command.payload;
      const rows: { id: string; name: string; domain: string; status: string; saga_id: string; updated_at: Date }[] = await tx.manager.query(
        `SELECT id, name, domain, status, saga_id, updated_at FROM sites
          WHERE ($1::uuid IS NULL OR id > $1::uuid)
            AND ($3::uuid IS NULL OR id = $3::uuid) AND ($4::text IS NULL OR name = $4) AND ($5::text IS NULL OR domain = $5)
          ORDER BY id LIMIT $2`,
        [uuidOrNull(after), limit + 1, match?.siteId ?? null, match?.name ?? null, match?.domain ?? null],
      );
      const page = rows.slice(0, limit);
      const items: InventoryItem[] = page.map((row) => ({
        name: row.id,
        siteId: row.id,
        status: row.status,
        sagaId: row.saga_id,
        siteName: row.name,
        domain: row.domain,
        updatedAt: row.updated_at.toISOString(),
      }));
      tx.reply(ReportSiteInventory.succeeded, { requestId, source, items, nextCursor: rows.length > limit ? (page[page.length - 1]?.id ?? null) : null });
    });
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The cursor is the last id of the previous page; anything else starts from the beginning. */
const uuidOrNull = (value: string | null): string | null => (value !== null && UUID.test(value) ? value : null);
